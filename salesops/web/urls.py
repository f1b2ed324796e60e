from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import URLPattern, path

from salesops.web.views import (
    account,
    actions,
    board,
    create,
    dashboard_charts,
    dashboard_drill,
    dashboards,
    deal_lines,
    exports,
    forecast_stats,
    forecasts,
    home,
    imports,
    lists,
    merge,
    notifications,
    objects,
    pages,
    pipeline_history,
    quotes,
    receivables,
    recycle,
    reports,
    setup,
    setup_dashboard,
    setup_layouts,
    setup_objects,
    setup_rules,
    setup_templates,
    subscriptions,
    targets,
)
from salesops.web.views.audit import audit_log
from salesops.web.views.records import RecordPage
from salesops.web.views.timeline import followup_inline, task_inline, task_inline_done


def record_urls(page: type[RecordPage], prefix: str) -> list[URLPattern]:
    """A record page, its full edit form and its inline field edits."""

    def view(method: str) -> Any:
        def handler(request: Any, **kwargs: Any) -> Any:
            instance = page()
            instance.setup(request, **kwargs)
            return login_required(getattr(instance, method))(request, **kwargs)

        return handler

    key = page.key
    urls = [
        path(f"{prefix}/<int:pk>/", view("get"), name=f"{key}_detail"),
        path(f"{prefix}/<int:pk>/field/<str:name>/", view("field"), name=f"{key}_field"),
        path(f"{prefix}/<int:pk>/timeline/", view("timeline_page"), name=f"{key}_timeline"),
    ]
    if key != "quote":
        urls.append(path(f"{prefix}/<int:pk>/edit/", view("edit"), name=f"{key}_edit"))
    if key == "quote":
        urls.append(path(f"{prefix}/<int:pk>/print/", view("print"), name="quote_print"))
    return urls


PREFIX = {
    "lead": "leads",
    "customer": "customers",
    "contact": "contacts",
    "deal": "deals",
    "product": "products",
    "contract": "contracts",
    "task": "tasks",
    "followup": "followups",
    "quote": "quotes",
}
LIST_URLS = {
    lists.LeadList: ("leads/", "lead_list"),
    lists.CustomerList: ("customers/", "customer_list"),
    lists.MyCustomerList: ("customers/mine/", "customer_mine"),
    lists.PoolList: ("pool/", "pool"),
    lists.ContactList: ("contacts/", "contact_list"),
    lists.DealList: ("deals/", "deal_list"),
    lists.FollowUpList: ("followups/", "followup_list"),
    lists.TaskList: ("tasks/", "task_list"),
    lists.ProductList: ("products/", "product_list"),
    lists.QuoteList: ("quotes/", "quote_list"),
    lists.ContractList: ("contracts/", "contract_list"),
    lists.PaymentPlanList: ("payment-plans/", "paymentplan_list"),
    lists.PaymentList: ("payments/", "payment_list"),
}
CREATE_URLS = {
    create.LeadCreate: "leads/new/",
    create.CustomerCreate: "customers/new/",
    create.ContactCreate: "contacts/new/",
    create.DealCreate: "deals/new/",
    create.ProductCreate: "products/new/",
    create.FollowUpCreate: "followups/new/",
    create.TaskCreate: "tasks/new/",
    create.ContractCreate: "contracts/new/",
    create.PaymentPlanCreate: "payment-plans/new/",
    create.PaymentCreate: "payments/new/",
}

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", account.LoginView.as_view(), name="login"),
    path("login/code/", account.login_code, name="login_code"),
    path("account/", account.account, name="account"),
    path("account/two-factor/", account.two_factor, name="account_two_factor"),
    path("account/password/", account.PasswordChangeView.as_view(), name="password_change"),
    path("password-reset/", account.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        account.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        account.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        account.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "invitation/<uidb64>/<token>/",
        account.InviteAcceptView.as_view(),
        name="invite_accept",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", home.set_language, name="language"),
    path("search/", home.search, name="search"),
    path("lookup/<str:kind>/", home.lookup, name="lookup"),
    path("healthz", home.healthz, name="healthz"),
    *(path(route, view.as_view(), name=name) for view, (route, name) in LIST_URLS.items()),
    *(path(route, view.as_view(), name=f"{view.key}_new") for view, route in CREATE_URLS.items()),
    path("quotes/new/", quotes.quote_new, name="quote_new"),
    path("quotes/<int:pk>/edit/", quotes.quote_edit, name="quote_edit"),
    *(url for page in pages.PAGES for url in record_urls(page, PREFIX[page.key])),
    *record_urls(quotes.QuotePage, "quotes"),
    path("leads/<int:pk>/convert/", actions.convert, name="lead_convert"),
    path("customers/<int:pk>/claim/", actions.claim, name="customer_claim"),
    path("customers/<int:pk>/release/", actions.release, name="customer_release"),
    path("deals/<int:pk>/move/", actions.deal_move, name="deal_move"),
    path("deals/<int:pk>/lines/add/", deal_lines.line_add, name="deal_line_add"),
    path("deals/<int:pk>/lines/<int:line>/", deal_lines.line_change, name="deal_line_change"),
    path(
        "deals/<int:pk>/lines/<int:line>/remove/", deal_lines.line_remove, name="deal_line_remove"
    ),
    path("tasks/<int:pk>/done/", actions.task_done, name="task_done"),
    path("delete/<str:kind>/<int:pk>/", actions.delete, name="record_delete"),
    path("duplicates/", merge.finder, name="duplicates"),
    path("duplicates/<str:kind>/", merge.finder, name="duplicates_of"),
    path("merge/<str:kind>/", merge.merge, name="merge"),
    path("dashboards/", dashboards.org_dashboard, name="dashboard"),
    path("pipeline-history/", pipeline_history.as_of_page, name="pipeline_as_of"),
    path("pipeline-history/waterfall/", pipeline_history.waterfall_page, name="pipeline_waterfall"),
    path(
        "pipeline-history/waterfall/<str:bar>/",
        pipeline_history.waterfall_drill,
        name="pipeline_waterfall_drill",
    ),
    path("pipeline-history/trend/", pipeline_history.trend_page, name="pipeline_trend"),
    path("dashboards/team/<int:pk>/", dashboards.team_dashboard, name="dashboard_team"),
    path("dashboards/rep/<int:pk>/", dashboards.rep_dashboard, name="dashboard_rep"),
    path("dashboards/data.json", dashboard_charts.chart_data, name="dashboard_data"),
    path("dashboards/drill/<str:metric>/", dashboard_drill.drill, name="dashboard_drill"),
    path("forecasts/", forecasts.forecast, name="forecast"),
    path("forecasts/deals/<str:figure>/", forecasts.forecast_deals, name="forecast_deals"),
    path("forecasts/submit/", forecasts.forecast_submit, name="forecast_submit"),
    path("forecasts/override/", forecasts.forecast_override, name="forecast_override"),
    path("forecasts/deadline/", forecasts.forecast_deadline, name="forecast_deadline"),
    path(
        "deals/<int:pk>/forecast-category/",
        forecasts.deal_forecast_category,
        name="deal_forecast_category",
    ),
    path("forecasts/statistical/", forecast_stats.statistical_page, name="forecast_stats"),
    path("forecasts/accuracy/", forecast_stats.accuracy_page, name="forecast_accuracy"),
    path("subscriptions/", subscriptions.subscription_list, name="subscription_list"),
    path("subscriptions/new/", subscriptions.subscription_new, name="subscription_new"),
    path("subscriptions/<int:pk>/", subscriptions.subscription_edit, name="subscription_edit"),
    path(
        "subscriptions/<int:pk>/active/",
        subscriptions.subscription_active,
        name="subscription_active",
    ),
    path(
        "subscriptions/<int:pk>/delete/",
        subscriptions.subscription_delete,
        name="subscription_delete",
    ),
    path("notifications/", notifications.notification_list, name="notifications"),
    path(
        "notifications/read-all/",
        notifications.notification_read_all,
        name="notifications_read_all",
    ),
    path(
        "notifications/settings/",
        notifications.notification_settings,
        name="notification_settings",
    ),
    path("notifications/<int:pk>/", notifications.notification_open, name="notification_open"),
    path("notifications/<int:pk>/read/", notifications.notification_read, name="notification_read"),
    path("targets/", targets.targets, name="targets"),
    path("receivables/", receivables.ageing, name="receivables"),
    path("receivables/instalments/", receivables.instalments, name="receivables_instalments"),
    path("receivables/forecast/", receivables.forecast, name="receivables_forecast"),
    path("receivables/settings/", receivables.settings_page, name="receivables_settings"),
    path("targets/save/", targets.save, name="targets_save"),
    path("targets/paste/", targets.paste, name="targets_paste"),
    path("targets/upload/", targets.upload, name="targets_upload"),
    path("targets/template.xlsx", targets.template, name="targets_template"),
    path("reports/", reports.report_list, name="report_list"),
    path("reports/new/", reports.report_new, name="report_new"),
    path("reports/run/records/", reports.report_records, name="report_run_records"),
    path("reports/run/export/", reports.report_export, name="report_run_export"),
    path("reports/<int:pk>/", reports.report_detail, name="report_detail"),
    path("reports/<int:pk>/copy/", reports.report_copy, name="report_copy"),
    path("reports/<int:pk>/delete/", reports.report_delete, name="report_delete"),
    path("reports/<int:pk>/records/", reports.report_records, name="report_records"),
    path("reports/<int:pk>/export/", reports.report_export, name="report_export"),
    path("recycle/", recycle.recycle_index, name="recycle_index"),
    path("recycle/<slug:key>/", recycle.recycle_bin, name="recycle_bin"),
    path("recycle/<slug:key>/<int:pk>/restore/", recycle.recycle_restore, name="recycle_restore"),
    path("imports/", imports.history, name="import_list"),
    path("imports/new/", imports.upload, name="import_new"),
    path("imports/file/<slug:token>/", imports.mapping, name="import_mapping"),
    path("imports/<int:pk>/", imports.job_page, name="import_job"),
    path("imports/<int:pk>/progress/", imports.job_progress, name="import_progress"),
    path("imports/<int:pk>/cancel/", imports.job_cancel, name="import_cancel"),
    path("imports/<int:pk>/errors.csv", imports.job_errors, name="import_errors"),
    path("board/", board.board, name="board"),
    path("board/<int:pk>/", board.board, name="board_pipeline"),
    path("board/<int:pk>/stage/<int:stage_pk>/", board.column_more, name="board_column"),
    # Custom objects: every object's pages, from its definition (no code per object).
    path("o/<slug:key>/", objects.object_list, name="object_list"),
    path("o/<slug:key>/new/", objects.object_new, name="object_new"),
    path("o/<slug:key>/deleted/", objects.object_deleted, name="object_deleted"),
    path("o/<slug:key>/<int:pk>/", objects.object_record, name="object_record"),
    path("o/<slug:key>/<int:pk>/edit/", objects.object_edit, name="object_edit"),
    path("o/<slug:key>/<int:pk>/field/<str:name>/", objects.object_field, name="object_field"),
    path("o/<slug:key>/<int:pk>/delete/", objects.object_delete, name="object_delete"),
    path("o/<slug:key>/<int:pk>/restore/", objects.object_restore, name="object_restore"),
    path("exports/", exports.export_job_list, name="export_jobs"),
    path("exports/<int:pk>/download/", exports.export_download, name="export_download"),
    path("settings/backup/", exports.backup, name="settings_backup"),
    path("settings/", setup.index, name="settings"),
    path("settings/snapshots/", pipeline_history.snapshot_settings, name="settings_snapshots"),
    path("settings/objects/", setup_objects.object_list, name="settings_objects"),
    path("settings/objects/<int:pk>/", setup_objects.object_edit, name="settings_object"),
    path(
        "settings/objects/<int:pk>/active/",
        setup_objects.object_active,
        name="settings_object_active",
    ),
    path("settings/pipelines/new/", setup.pipeline, name="settings_pipeline_new"),
    path("settings/pipelines/<int:pk>/", setup.pipeline, name="settings_pipeline"),
    path("settings/audit/", audit_log, name="settings_audit"),
    path("settings/layouts/", setup_layouts.layout_index, name="settings_layouts"),
    path(
        "settings/layouts/deal/pipelines/<int:pk>/",
        setup_layouts.layout_pipeline,
        name="settings_layout_pipeline",
    ),
    path("settings/layouts/<str:object_type>/", setup_layouts.layout_edit, name="settings_layout"),
    path("settings/rules/", setup_rules.rule_list, name="settings_rules"),
    path("settings/rules/new/", setup_rules.rule_edit, name="settings_rule_new"),
    path("settings/rules/<int:pk>/", setup_rules.rule_edit, name="settings_rule"),
    path("settings/dashboard/", setup_dashboard.dashboard_layout, name="settings_dashboard"),
    path("settings/templates/", setup_templates.template_gallery, name="settings_templates"),
    path(
        "settings/templates/<slug:key>/",
        setup_templates.template_preview,
        name="settings_template",
    ),
    path("followups/<int:pk>/inline/", followup_inline, name="followup_inline"),
    path("tasks/<int:pk>/inline/", task_inline, name="task_inline"),
    path("tasks/<int:pk>/inline/done/", task_inline_done, name="task_inline_done"),
    path("settings/<str:key>/", setup.section, name="settings_section"),
    path("settings/<str:key>/<int:pk>/", setup.section, name="settings_item"),
]
