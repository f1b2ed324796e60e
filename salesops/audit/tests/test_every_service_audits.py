"""Every public service writes its audit entry.

The public services are the functions defined in each `services.py` / `*_services.py`
module (not imported into it) whose name has no leading underscore. Each is either
exempt below, with the reason (it reads, checks or cleans; it writes nothing), or:

- statically: its body reaches `audit.record`, `record_many`, `record_import` or
  `record_saved`, following the calls it makes to other functions of the project;
- and, for the writes that wrote none before (handing a record to someone else,
  pool rules, people, teams, roles, the organisation, holidays, pipelines, price
  lists, reports, subscriptions, saved views), by calling it with a minimal valid
  input: one more audit entry about the record.

A new service that writes nothing fails here until it records its entry (or is
listed as read-only with its reason)."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import inspect
import textwrap
from pathlib import Path
from typing import Any

import pytest

from salesops.audit import services as audit
from salesops.audit.models import AuditEntry

PACKAGE = Path(__file__).resolve().parents[2]
MODULES = sorted(
    p.relative_to(PACKAGE.parent).with_suffix("").as_posix().replace("/", ".")
    for p in [*PACKAGE.glob("*/services.py"), *PACKAGE.glob("*/*_services.py")]
    if p.parent.name != "audit"
)
RECORDERS = {audit.record, audit.record_many, audit.record_import, audit.record_saved}

#: Public functions that write nothing, each with the reason.
READ_ONLY = {
    "activities": {},
    "crm.services": {
        "writable": "which fields a user may set: a read",
        "refuse_unknown": "a check before a write",
        "check_picklists": "a check before a write",
        "check_stage_requirements": "a check before a stage move",
        "received_on_plan": "a read of a payment plan",
    },
    "crm.commerce_services": {
        "ensure_admin": "a permission check",
        "unit_price_for": "a read: the default price of a line the calling service writes",
    },
    "customization.admin_services": {
        "field_object_types": "a read",
        "hideable_fields": "a read",
        "hidden_field_types": "a read",
        "merge_hidden_fields": "computes a role's hidden fields; save_role writes them",
        "clean_sections": "cleans a layout before save_layout writes it",
    },
    "customization.services": {
        "definitions": "a read",
        "picklist_values": "a read",
        "picklist_options": "a read",
        "forget_definitions": "clears a process cache",
        "field_spec": "a read",
        "custom_field_specs": "a read",
        "clean_custom_values": "cleans values the calling service writes and audits",
        "check_picklist_value": "a check",
    },
    "lib.services": {
        "ensure_right": "a permission check",
        "ensure_can": "a permission check",
        "may_export": "a permission check",
        "ensure_export": "a permission check",
    },
    "crm.merge_services": {
        "child_links": "a read of the model graph",
        "load": "a read",
        "mergeable_fields": "a read",
        "model_for": "a read",
        "value_of": "a read",
    },
    "notifications.services": {
        "notify": "a notice about an event the calling service audits, not a change to a record",
        "notify_many": "notices about events the calling services audit",
        "assigned": "a notice about a hand-over, which the calling service audits",
        "outgoing": "builds a notice for notify_many",
        "mark_read": "the reader's own inbox state, not organisation data",
        "mark_all_read": "the reader's own inbox state, not organisation data",
        "set_preferences": "the reader's own notification preferences, not organisation data",
        "choices": "a read",
        "page_of": "a read",
        "preferences": "a read",
        "unread_count": "a read",
    },
    "objects.services": {
        "spec_of": "a read",
        "ensure_indexes": "database indexes, not a record (run by define/update_object)",
    },
    "reports.services": {
        "can_edit": "a permission check",
        "shareable_teams": "a read",
        "canonical": "a pure function",
        "check": "a check",
        "get_report": "a read",
        "run_definition": "a read",
        "run_report": "a read",
        "report_records": "a read",
    },
    "subscriptions.services": {
        "content_problem": "a check",
        "can_open_problem": "a check",
        "get_subscription": "a read",
        "team_choices": "a read",
    },
    "users.admin_services": {
        "is_admin": "a permission check",
        "ensure_admin": "a permission check",
        "clean_rights": "cleans what save_role writes",
        "clean_hidden_fields": "cleans what save_role writes",
        "save_currency": "a currency's key is its ISO code; the log keys records by number",
    },
    "users.account_services": {
        "backup_codes_left": "a read",
        "has_two_factor": "a read",
        "is_invited": "a read",
        "must_enrol": "a check",
        "otpauth_url": "a read",
        "pending_device": "a read",
        "qr_svg": "draws a QR code",
        "verify_code": "checks a sign-in code (django-otp uses up a backup code); failed "
        "sign-ins are counted by django-axes",
    },
    "users.target_services": {},
    "workspace.services": {},
}


def _public(module: Any) -> list[str]:
    return sorted(
        name
        for name, f in vars(module).items()
        if inspect.isfunction(f) and f.__module__ == module.__name__ and not name.startswith("_")
    )


def _exempt(module_name: str) -> dict[str, str]:
    return READ_ONLY.get(module_name.removeprefix("salesops."), {})


def _called(func: Any) -> list[Any]:
    """The project functions `func` calls, resolved in its module's namespace."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return []
    names = vars(inspect.getmodule(func))
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target: Any = None
        if isinstance(node.func, ast.Name):
            target = names.get(node.func.id)
        elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            owner = names.get(node.func.value.id)
            if inspect.ismodule(owner):
                target = getattr(owner, node.func.attr, None)
        if inspect.isfunction(target) and target.__module__.startswith("salesops."):
            out.append(target)
    return out


def _reaches_the_log(func: Any, seen: set[Any] | None = None) -> bool:
    seen = set() if seen is None else seen
    if func in RECORDERS:
        return True
    if func in seen:
        return False
    seen.add(func)
    return any(_reaches_the_log(f, seen) for f in _called(func))


def _every_service() -> list[tuple[str, str]]:
    out = []
    for name in MODULES:
        module = importlib.import_module(name)
        out += [(name, fn) for fn in _public(module) if fn not in _exempt(name)]
    return out


def test_the_services_are_found_and_the_exemptions_are_real():
    assert len(MODULES) >= 14
    for name in MODULES:
        public = set(_public(importlib.import_module(name)))
        stale = set(_exempt(name)) - public
        assert not stale, f"{name}: exempt but not a public service: {stale}"


@pytest.mark.parametrize(("module", "function"), _every_service())
def test_each_writing_service_reaches_the_audit_log(module, function):
    func = getattr(importlib.import_module(module), function)
    assert _reaches_the_log(func), (
        f"{module}.{function} writes no audit entry: record one (audit.record / "
        "record_saved), or list it in READ_ONLY with the reason it writes nothing"
    )


# -- the ones that wrote none: called ---------------------------------------------------


def _entries(obj: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type=audit.object_type_of(obj), object_id=obj.pk))


def _pipeline(cast):
    from salesops.crm.tests.factories import PipelineFactory

    return PipelineFactory(is_default=True)


def _recipes():
    """(name, call(cast) -> the record the entry must be about, action)."""
    from salesops.crm import commerce_services, page_services, services
    from salesops.crm.models import Deal, PoolRule
    from salesops.org.models import Holiday
    from salesops.reports import services as reports
    from salesops.subscriptions import services as subscriptions
    from salesops.users import admin_services
    from salesops.users.models import Team
    from salesops.workspace import services as workspace

    def assign(cast):
        _pipeline(cast)
        customer = services.create_customer(by=cast.rep, name="Acme")
        deal = services.create_deal(by=cast.rep, customer=customer, name="D")
        deal = page_services.assign_owner(
            obj=Deal.objects.get(pk=deal.pk), to=cast.teammate, by=cast.manager
        )
        return deal, "owner_changed"

    def pool_rule(cast):
        return page_services.save_pool_rule(
            by=cast.admin, data={"name": "R", "team": cast.west}
        ), "created"

    def pool_rule_change(cast):
        rule = PoolRule.objects.create(name="R", team=cast.west)
        return page_services.save_pool_rule(
            by=cast.admin, rule=rule, data={"name": "R2"}
        ), "updated"

    def pool_rule_delete(cast):
        rule = PoolRule.objects.create(name="R", team=cast.west)
        page_services.delete_pool_rule(by=cast.admin, rule=rule)
        return rule, "deleted"

    def organisation(cast):
        return admin_services.update_organisation(
            by=cast.admin, data={"name": "New name"}
        ), "updated"

    def new_user(cast):
        data = {"username": "newbie", "team": cast.east}
        return admin_services.save_user(
            by=cast.admin, data=data, password="a-Long-pw-42!"
        ), "created"

    def user_change(cast):
        return admin_services.save_user(
            by=cast.admin, user=cast.rep, data={"phone": "123"}
        ), "updated"

    def language(cast):
        admin_services.set_language(
            user=cast.rep, language="zh-hans" if cast.rep.language == "en" else "en"
        )
        return cast.rep, "updated"

    def team(cast):
        return admin_services.save_team(
            by=cast.admin, data={"name": "North", "parent": cast.hq}
        ), "created"

    def team_change(cast):
        return admin_services.save_team(
            by=cast.admin, team=cast.west, data={"name": "Far West"}
        ), "updated"

    def team_delete(cast):
        empty = Team.objects.create(name="Empty", parent=cast.hq)
        admin_services.delete_team(by=cast.admin, team=empty)
        return empty, "deleted"

    def role(cast):
        return admin_services.save_role(
            by=cast.admin, role=cast.rep.role, data={"name": "Seller"}
        ), "updated"

    def holiday(cast):
        return admin_services.add_holiday(
            by=cast.admin, day=dt.date(2026, 10, 1), kind="holiday", name="National Day"
        ), "created"

    def holiday_delete(cast):
        day = Holiday.objects.create(day=dt.date(2026, 10, 2), kind="holiday")
        admin_services.delete_holiday(by=cast.admin, holiday=day)
        return day, "deleted"

    def pipeline(cast):
        return commerce_services.create_pipeline(by=cast.admin, name="Projects"), "created"

    def stage(cast):
        p = commerce_services.create_pipeline(by=cast.admin, name="Projects")
        return commerce_services.add_stage(
            by=cast.admin, pipeline=p, name="Demo", probability=30
        ), "created"

    def price_list(cast):
        return commerce_services.create_price_list(by=cast.admin, name="2026"), "created"

    def price_list_change(cast):
        pl = commerce_services.create_price_list(by=cast.admin, name="2026")
        return commerce_services.update_price_list(
            by=cast.admin, price_list=pl, data={"name": "2027"}
        ), "updated"

    def price_list_retire(cast):
        pl = commerce_services.create_price_list(by=cast.admin, name="2026")
        return commerce_services.retire_price_list(by=cast.admin, price_list=pl), "updated"

    def report(cast):
        definition = {"measures": [{"agg": "count"}]}
        return reports.create_report(
            user=cast.admin, name="Mine", object_type="deal", definition=definition
        ), "created"

    def saved_view(cast):
        return workspace.save_view(
            by=cast.rep, list_key="deals", name="Big", query="q=big"
        ), "created"

    def subscription(cast):
        from salesops.subscriptions.tests.test_services import values

        cast.manager.email = "m@example.com"
        cast.manager.save()
        return subscriptions.create_subscription(
            user=cast.manager, recipients=[cast.manager], **values()
        ), "created"

    return {
        f.__name__: f
        for f in (
            assign, pool_rule, pool_rule_change, pool_rule_delete, organisation, new_user,
            user_change, language, team, team_change, team_delete, role, holiday,
            holiday_delete, pipeline, stage, price_list, price_list_change,
            price_list_retire, report, saved_view, subscription,
        )
    }  # fmt: skip


@pytest.mark.parametrize(
    "recipe",
    [
        "assign", "pool_rule", "pool_rule_change", "pool_rule_delete", "organisation",
        "new_user", "user_change", "language", "team", "team_change", "team_delete", "role",
        "holiday", "holiday_delete", "pipeline", "stage", "price_list", "price_list_change",
        "price_list_retire", "report", "saved_view", "subscription",
    ],
)  # fmt: skip
def test_a_write_that_recorded_nothing_now_records_its_entry(cast, recipe):
    obj, action = _recipes()[recipe](cast)
    entries = [e for e in _entries(obj) if e.action == action]
    assert len(entries) == 1, (recipe, [(e.action, e.changes) for e in _entries(obj)])
