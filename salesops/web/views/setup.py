"""Administration from the app: organisation, people, teams and roles (with the fields
each role hides), pipelines and stages, public-pool rules, custom fields (with their
options and defaults), picklists, currencies and exchange rates, price lists and the
holiday calendar.

One flat `Section` class: a list of rows and a form, saved through the set-up
services (which refuse anyone but an administrator, whatever the page shows). Row
and item actions (move, retire, restore, an option's label…) are posted with an
`action` and handled by the section's `act`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as L
from django.utils.translation import pgettext_lazy

from salesops.crm import commerce_services as commerce
from salesops.crm import page_services as crm_pages
from salesops.crm.models import PoolRule, PriceList, Product
from salesops.customization import admin_services as fields_admin
from salesops.customization import registry
from salesops.customization.models import CustomField, Picklist, PicklistOption
from salesops.org.models import Currency, ExchangeRate, Holiday, Organisation
from salesops.pipeline import requirements
from salesops.pipeline.models import ForecastCategory, Pipeline, Stage
from salesops.users import account_services as accounts
from salesops.users import admin_services as admin
from salesops.users.models import OBJECT_TYPES, RIGHTS, Role, Team, User
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, model_fields, show_error


def rights_types() -> list[tuple[str, Any]]:
    """The object types roles get rights on: the built-in ones, then the active custom
    objects (by key)."""
    custom = [(s.key, s.label) for s in registry.objects() if s.is_custom_object]
    return [*OBJECT_TYPES, *custom]


def require_admin(request: HttpRequest) -> None:
    if not admin.is_admin(me(request)):
        raise PermissionDenied(_("Only an administrator may change the organisation's set-up."))


class Section:
    key: ClassVar[str]
    title: ClassVar[Any]
    model: ClassVar[Any]
    names: ClassVar[list[str]]
    columns: ClassVar[list[tuple[str, Any]]]  # (attribute, label)
    editable_rows: ClassVar[bool] = True
    #: Shown below the form on an item's page (e.g. a field's options), with `details()`.
    extra_template: ClassVar[str] = ""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.user: Any = me(request)

    def rows(self) -> Any:
        return self.model.objects.all()

    def get(self, pk: Any) -> Any:
        return get_object_or_404(self.model, pk=pk)

    def row_actions(self, row: Any) -> list[tuple[str, Any, bool]]:
        """(action, label, asks for confirmation) offered beside a row."""
        return []

    def act(self, obj: Any, action: str, post: Any) -> None:
        """Carry out a row or item action; Http404 for one the section does not have."""
        if action == "delete":
            self.delete(obj)
            return
        raise Http404

    def details(self, obj: Any) -> dict[str, Any]:
        return {}

    def form(self, obj: Any, data: Any = None) -> forms.Form:
        form = forms.Form(data, initial=self.initial(obj))
        form.fields.update(model_fields(self.model, self.names))
        for name, field in form.fields.items():
            if isinstance(field, forms.ModelChoiceField):
                related: Any = field.queryset.model  # type: ignore[union-attr]
                field.queryset = related._default_manager.all()
                if name == "base_currency" or name == "currency":
                    field.queryset = Currency.objects.filter(active=True)
        self.adjust(form, obj)
        return form

    def initial(self, obj: Any) -> dict[str, Any]:
        if obj is None:
            return {}
        out = {}
        for name in self.names:
            field: Any = self.model._meta.get_field(name)
            out[name] = getattr(obj, field.attname)
        return out

    def adjust(self, form: forms.Form, obj: Any) -> None:
        """Section-specific form changes."""

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def delete(self, obj: Any) -> None:
        raise Http404

    def back_query(self) -> str:
        """The query string the section's pages keep (a filter), "" for none."""
        return ""

    def done_message(self, action: str) -> Any:
        """What the page says after a row or item action went through."""
        return _("Deleted.") if action == "delete" else _("Saved.")

    def heading(self) -> Any:
        """The page's title."""
        return self.title


class OrganisationSection(Section):
    key = "organisation"
    title = L("Organisation")
    model = Organisation
    names = ["name", "base_currency", "time_zone", "fiscal_year_start_month", "locale", "activity_window_days", "gross_margin", "require_admin_two_factor", "recycle_retention_days"]  # fmt: skip
    columns = []
    editable_rows = False

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        return admin.update_organisation(by=self.user, data=data)


class UserSection(Section):
    key = "users"
    title = L("People")
    model = User
    names = ["username", "display_name", "email", "phone", "language", "team", "reports_to", "role", "is_active"]  # fmt: skip
    columns = [("username", L("Username")), ("display_name", L("Display name")), ("team", L("Team")), ("role", L("Role")), ("is_active", L("Active"))]  # fmt: skip

    def rows(self) -> Any:
        return User.objects.select_related("team", "role").order_by("username")[:500]

    def adjust(self, form: forms.Form, obj: Any) -> None:
        if obj is None:
            form.fields["invite"] = forms.BooleanField(
                label=L("Invite by e-mail"),
                required=False,
                initial=True,
                help_text=L(
                    "The person gets a link to choose their own password; leave the password empty."
                ),
            )
        form.fields["password"] = forms.CharField(
            label=L("New password"),
            required=False,
            widget=forms.PasswordInput(render_value=False),
            help_text=L("Leave empty to keep the current password."),
        )

    def row_actions(self, row: Any) -> list[tuple[str, Any, bool]]:
        if not row.is_active or not row.email:
            return []
        if accounts.is_invited(row):
            return [("send_invite", L("Send the invitation again"), False)]
        return [("send_reset", L("Send a password reset link"), True)]

    def act(self, obj: Any, action: str, post: Any) -> None:
        if action == "send_invite":
            accounts.resend_invitation(by=self.user, user=obj)
        elif action == "send_reset":
            accounts.send_password_reset(by=self.user, user=obj)
        else:
            super().act(obj, action, post)

    def done_message(self, action: str) -> Any:
        if action in ("send_invite", "send_reset"):
            return _("The e-mail is sent.")
        return super().done_message(action)

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        password = data.pop("password", "") or ""
        if obj is None and data.pop("invite", False) and not password:
            return accounts.invite_user(by=self.user, data=data)
        data.pop("invite", None)
        return admin.save_user(by=self.user, data=data, user=obj, password=password)


class TeamSection(Section):
    key = "teams"
    title = L("Teams")
    model = Team
    names = ["name", "parent", "manager"]
    columns = [("name", L("Name")), ("parent", L("Parent team")), ("manager", L("Manager"))]

    def rows(self) -> Any:
        return Team.objects.select_related("parent", "manager")

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        return admin.save_team(by=self.user, data=data, team=obj)


class RoleSection(Section):
    key = "roles"
    title = L("Roles and data permissions")
    model = Role
    names = ["name", "data_scope", "is_sales_rep", "is_admin"]
    columns = [("name", L("Name")), ("get_data_scope_display", L("Data scope")), ("is_admin", L("Administrator"))]  # fmt: skip

    def adjust(self, form: forms.Form, obj: Any) -> None:
        rights = (obj.rights if obj else {}) or {}
        for t, label in rights_types():
            form.fields[f"rights_{t}"] = forms.MultipleChoiceField(
                label=label,
                choices=RIGHTS,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                initial=rights.get(t, []),
            )
        hidden = (obj.hidden_fields if obj else {}) or {}
        for spec in fields_admin.hidden_field_types():
            form.fields[f"hidden_{spec.key}"] = forms.MultipleChoiceField(
                label=_("Fields hidden from this role: %(object)s") % {"object": spec.plural},
                choices=[(f.key, f.title) for f in fields_admin.hideable_fields(spec.key)],
                required=False,
                widget=forms.CheckboxSelectMultiple(attrs={"class": "checkbox-columns"}),
                initial=hidden.get(spec.key, []),
            )

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        shown = {t: data.pop(f"rights_{t}", []) for t, _label in rights_types()}
        # A retired custom object's rights are not shown: the role keeps them.
        kept = {t: r for t, r in ((obj.rights if obj else {}) or {}).items() if t not in shown}
        rights = {**kept, **shown}
        hidden = {
            spec.key: list(data.pop(f"hidden_{spec.key}", []) or [])
            for spec in fields_admin.hidden_field_types()
        }
        return fields_admin.save_role(
            by=self.user, data={**data, "rights": rights}, role=obj, hidden=hidden
        )


DELETE = [("delete", L("Delete"), True)]


class PoolRuleSection(Section):
    key = "pool-rules"
    title = L("Public pool rules")
    model = PoolRule
    names = ["name", "team", "reclaim_after_days_without_followup", "reclaim_after_days_without_won_deal", "max_customers_per_rep", "reclaim_block_days", "warning_days", "active"]  # fmt: skip
    columns = [("name", L("Name")), ("team", L("Team")), ("reclaim_after_days_without_followup", L("Days without follow-up")), ("max_customers_per_rep", L("Cap per rep")), ("active", L("Active"))]  # fmt: skip

    def rows(self) -> Any:
        return PoolRule.objects.select_related("team")

    def row_actions(self, row: Any) -> list[tuple[str, Any, bool]]:
        return DELETE

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        return crm_pages.save_pool_rule(by=self.user, data=data, rule=obj)

    def delete(self, obj: Any) -> None:
        crm_pages.delete_pool_rule(by=self.user, rule=obj)


UP = ("up", pgettext_lazy("move in a list", "Up"), False)
DOWN = ("down", pgettext_lazy("move in a list", "Down"), False)
STEPS = {"up": -1, "down": 1}


def _default_text(value: Any) -> str:
    """A stored default as the settings form shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _computes_text(field: CustomField) -> str:
    """How a formula or roll-up computes, for the list of fields ("" for others)."""
    if field.field_type == CustomField.Type.FORMULA:
        return field.expression
    if field.field_type == CustomField.Type.ROLLUP:
        text = _("%(aggregate)s of %(object)s.%(field)s through %(link)s") % {
            "aggregate": field.get_rollup_aggregate_display(),
            "object": field.rollup_object,
            "field": field.rollup_field or "*",
            "link": field.rollup_link,
        }
        if field.rollup_condition:
            text = _("%(rollup)s where %(condition)s") % {
                "rollup": text,
                "condition": field.rollup_condition,
            }
        return text
    return ""


class CustomFieldSection(Section):
    """Custom fields of every object type, or of one (`?object_type=site_visit`: a
    custom object's fields, linked from its settings page)."""

    key = "custom-fields"
    title = L("Custom fields")
    model = CustomField
    names = ["object_type", "key", "label", "field_type", "required", "help_text"]
    #: How a formula or roll-up computes (offered on a new field, and on a computed one).
    computing = list(fields_admin.COMPUTING)
    columns = [("object_label", L("Object")), ("key", L("Key")), ("label", L("Label")), ("get_field_type_display", L("Type")), ("required", L("Required")), ("default_text", L("Default value")), ("computes_text", L("Computed as")), ("active", L("Active"))]  # fmt: skip
    extra_template = "web/setup_custom_field.html"

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request)
        chosen = request.GET.get("object_type", "")
        self.object_type = chosen if chosen in dict(self.object_types()) else ""

    def heading(self) -> Any:
        if not self.object_type:
            return self.title
        return _("Custom fields: %(object)s") % {
            "object": dict(self.object_types())[self.object_type]
        }

    @staticmethod
    def object_types() -> list[tuple[str, Any]]:
        """The objects fields may be added to: built-in, then custom objects."""
        custom = [(s.key, s.label) for s in registry.objects() if s.is_custom_object]
        return [*OBJECT_TYPES, *custom]

    def back_query(self) -> str:
        return f"?object_type={self.object_type}" if self.object_type else ""

    def rows(self) -> Any:
        qs = CustomField.objects.order_by("object_type", "order", "key")
        if self.object_type:
            qs = qs.filter(object_type=self.object_type)
        labels = dict(self.object_types())
        rows: list[Any] = list(qs)
        for row in rows:
            row.default_text = _default_text(row.default)
            row.computes_text = _computes_text(row)
            row.object_label = labels.get(row.object_type, row.object_type)
        return rows

    def form(self, obj: Any, data: Any = None) -> forms.Form:
        form = super().form(obj, data)
        if obj is None or obj.computed:
            for name, field in model_fields(self.model, self.computing).items():
                field.required = False
                form.fields[name] = field
            if obj is not None:
                form.initial.update({name: getattr(obj, name) for name in self.computing})
                for name in ("required", "default"):
                    form.fields.pop(name, None)
                kind = self.computing[:2] if obj.field_type == "formula" else self.computing[2:]
                for name in self.computing:
                    if name not in kind:
                        form.fields.pop(name)
                if "result_type" in form.fields and obj.field_type == "rollup":
                    form.fields.pop("result_type")
        form.fields["field_type"].help_text = L(
            "A formula is computed from the record's fields; a roll-up counts or adds up "
            "the records that refer to it. Their values are read-only."
        )
        if "expression" in form.fields:
            form.fields["expression"].widget = forms.Textarea(attrs={"rows": 2})
            form.fields["expression"].help_text = L(
                "Formula: fields by their key, + - * /, comparisons, and, or, not, "
                "if … else …, and functions such as round, min, max, days, coalesce. "
                "E.g. amount * probability / 100."
            )
        if "rollup_link" in form.fields:
            form.fields["rollup_link"].help_text = L(
                "Roll-up: the reference of those records to this one, e.g. customer."
            )
            form.fields["rollup_field"].help_text = L(
                "Roll-up: the field added up or compared, e.g. amount (not for a count)."
            )
            form.fields["rollup_condition"].widget = forms.Textarea(attrs={"rows": 2})
        return form

    def row_actions(self, row: Any) -> list[tuple[str, Any, bool]]:
        if not row.active:
            return [("restore", L("Restore"), False)]
        return [UP, DOWN, ("retire", L("Retire"), True)]

    def initial(self, obj: Any) -> dict[str, Any]:
        out = super().initial(obj)
        if obj is not None:
            out["default"] = _default_text(obj.default)
        elif self.object_type:
            out["object_type"] = self.object_type
        return out

    def adjust(self, form: forms.Form, obj: Any) -> None:
        choices = self.object_types()
        if obj is not None and obj.object_type not in dict(choices):  # a retired object's
            choices.append((obj.object_type, obj.object_type))
        form.fields["object_type"].choices = choices  # type: ignore[attr-defined]
        form.fields["default"] = forms.CharField(
            label=L("Default value"),
            required=False,
            max_length=1000,
            help_text=L(
                "Given to a new record left without a value. Multiple select: values "
                "separated by commas; yes/no: yes or no; a person: their user number."
            ),
        )
        if obj is None:
            form.fields["options"] = forms.CharField(
                label=L("Options"),
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
                help_text=L(
                    "For select fields: one option per line, written value=label. A value "
                    "never changes once created."
                ),
            )
        else:
            for name in ("object_type", "key", "field_type"):
                form.fields[name].disabled = True

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        if obj is None:
            options = []
            for line in (data.pop("options", "") or "").splitlines():
                if line.strip():
                    value, _sep, label = line.partition("=")
                    options.append({"value": value.strip(), "label": (label or value).strip()})
            return fields_admin.create_custom_field(by=self.user, options=options, **data)
        for name in ("object_type", "key", "field_type"):
            data.pop(name, None)
        return fields_admin.update_custom_field(field=obj, by=self.user, data=data)

    def details(self, obj: Any) -> dict[str, Any]:
        if obj is None or obj.field_type not in fields_admin.SELECTS:
            return {}
        return {"options": obj.all_options()}

    def act(self, obj: Any, action: str, post: Any) -> None:
        by = self.user
        value = post.get("value", "")
        match action:
            case "up" | "down":
                fields_admin.move_custom_field(field=obj, by=by, step=STEPS[action])
            case "retire":
                fields_admin.retire_custom_field(field=obj, by=by)
            case "restore":
                fields_admin.restore_custom_field(field=obj, by=by)
            case "option_add":
                fields_admin.add_option(field=obj, by=by, value=value, label=post.get("label", ""))
            case "option_label":
                fields_admin.change_option(field=obj, by=by, value=value, label=post.get("label", ""))  # fmt: skip
            case "option_on" | "option_off":
                fields_admin.change_option(field=obj, by=by, value=value, active=action == "option_on")  # fmt: skip
            case "option_up" | "option_down":
                fields_admin.change_option(field=obj, by=by, value=value, step=STEPS[action[7:]])
            case _:
                raise Http404


class PicklistSection(Section):
    key = "picklists"
    title = L("Picklists")
    model = Picklist
    names = ["key", "name"]
    columns = [("key", L("Key")), ("name", L("Name")), ("option_labels", L("Options"))]
    extra_template = "web/setup_picklist.html"

    def rows(self) -> Any:
        rows: list[Any] = list(Picklist.objects.prefetch_related("options"))
        for row in rows:
            row.option_labels = ", ".join(o.label for o in row.options.all() if o.active)
        return rows

    def adjust(self, form: forms.Form, obj: Any) -> None:
        if obj is not None:
            form.fields["key"].disabled = True

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        return fields_admin.save_picklist(by=self.user, data=data, picklist=obj)

    def details(self, obj: Any) -> dict[str, Any]:
        return {"picklist_options": list(obj.options.order_by("order", "value"))} if obj else {}

    def act(self, obj: Any, action: str, post: Any) -> None:
        by = self.user
        if action == "option_add":
            fields_admin.add_picklist_option(
                by=by, picklist=obj, value=post.get("value", ""), label=post.get("label", "")
            )
            return
        option = get_object_or_404(PicklistOption, pk=post.get("option"), picklist=obj)
        match action:
            case "option_label":
                data = {"label": post.get("label", "")}
                fields_admin.update_picklist_option(by=by, option=option, data=data)
            case "option_on" | "option_off":
                data = {"active": action == "option_on"}
                fields_admin.update_picklist_option(by=by, option=option, data=data)
            case "option_up" | "option_down":
                fields_admin.move_picklist_option(by=by, option=option, step=STEPS[action[7:]])
            case _:
                raise Http404


class CurrencySection(Section):
    key = "currencies"
    title = L("Currencies")
    model = Currency
    names = ["code", "name", "symbol"]
    columns = [("code", L("Code")), ("name", L("Name")), ("symbol", L("Symbol")), ("active", L("Active"))]  # fmt: skip
    editable_rows = False

    def row_actions(self, row: Any) -> list[tuple[str, Any, bool]]:
        if row.active:
            return [("retire", L("Take out of use"), True)]
        return [("restore", L("Bring back into use"), False)]

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        return admin.save_currency(by=self.user, data=data, currency=obj)

    def act(self, obj: Any, action: str, post: Any) -> None:
        if action not in ("retire", "restore"):
            raise Http404
        admin.save_currency(by=self.user, data={"active": action == "restore"}, currency=obj)


class RateSection(Section):
    key = "exchange-rates"
    title = L("Exchange rates")
    model = ExchangeRate
    names = ["currency", "effective_on", "rate"]
    columns = [("currency", L("Currency")), ("effective_on", L("Effective on")), ("rate", L("Rate to base currency"))]  # fmt: skip

    def rows(self) -> Any:
        return ExchangeRate.objects.all()[:300]

    def adjust(self, form: forms.Form, obj: Any) -> None:
        if obj is not None:
            form.fields["currency"].disabled = True
            form.fields["effective_on"].disabled = True

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        if obj is not None:
            return commerce.update_exchange_rate(
                rate=obj, by=self.user, data={"rate": data["rate"]}
            )
        return commerce.set_exchange_rate(
            by=self.user,
            currency=data["currency"].pk if data.get("currency") else "",
            effective_on=data["effective_on"],
            rate=data["rate"],
        )


class PriceListSection(Section):
    key = "price-lists"
    title = L("Price lists")
    model = PriceList
    names = ["name", "currency", "valid_from", "valid_until"]
    columns = [("name", L("Name")), ("currency_id", L("Currency")), ("valid_from", L("Valid from")), ("valid_until", L("Valid until")), ("item_count", L("Products")), ("active", L("Active"))]  # fmt: skip
    extra_template = "web/setup_price_list.html"

    def rows(self) -> Any:
        from django.db.models import Count

        return PriceList.objects.annotate(item_count=Count("items"))

    def row_actions(self, row: Any) -> list[tuple[str, Any, bool]]:
        if row.active:
            return [("retire", L("Take out of use"), True)]
        return [("restore", L("Bring back into use"), False)]

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        if data.get("currency") is not None:
            data["currency"] = data["currency"].pk
        if obj is None:
            return commerce.create_price_list(by=self.user, **data)
        return commerce.update_price_list(price_list=obj, by=self.user, data=data)

    def details(self, obj: Any) -> dict[str, Any]:
        if obj is None:
            return {}
        items = list(obj.items.select_related("product").order_by("product__name"))
        listed = {i.product_id for i in items}
        products = Product.objects.visible_to(self.user).filter(active=True).order_by("name")
        return {
            "items": items,
            "products": [p for p in products[:1000] if p.pk not in listed],
        }

    def act(self, obj: Any, action: str, post: Any) -> None:
        by = self.user
        if action in ("retire", "restore"):
            commerce.retire_price_list(price_list=obj, by=by, active=action == "restore")
            return
        if action != "items":
            raise Http404
        items: list[dict[str, Any]] = []
        for item in obj.items.all():
            if post.get(f"remove_{item.pk}"):
                continue
            price = _price(post, f"price_{item.pk}", item.price)
            items.append({"product": item.product_id, "price": price})
        if post.get("product"):
            items.append({"product": post.get("product"), "price": _price(post, "price", None)})
        commerce.update_price_list(price_list=obj, by=by, data={}, items=items)


def _price(post: Any, name: str, current: Any) -> Any:
    """The posted price as the service takes it (text it cannot read goes through, for
    the service's own message); `current` when none was posted."""
    if name not in post:
        return current
    raw = (post.get(name) or "").strip()
    try:
        return Decimal(raw)
    except InvalidOperation:
        return raw


class HolidaySection(Section):
    key = "holidays"
    title = L("Holiday calendar")
    model = Holiday
    names = ["day", "kind", "name"]
    columns = [("day", L("Date")), ("get_kind_display", L("Kind")), ("name", L("Name"))]
    editable_rows = False

    def row_actions(self, row: Any) -> list[tuple[str, Any, bool]]:
        return DELETE

    def save(self, obj: Any, data: dict[str, Any]) -> Any:
        return admin.add_holiday(by=self.user, **data)

    def delete(self, obj: Any) -> None:
        admin.delete_holiday(by=self.user, holiday=obj)


SECTIONS: dict[str, type[Section]] = {
    s.key: s
    for s in (
        OrganisationSection,
        UserSection,
        TeamSection,
        RoleSection,
        PoolRuleSection,
        CustomFieldSection,
        PicklistSection,
        CurrencySection,
        RateSection,
        PriceListSection,
        HolidaySection,
    )
}


@login_required
def index(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    return render(
        request,
        "web/setup_index.html",
        {
            "title": _("Settings"),
            "sections": [(s.key, s.title) for s in SECTIONS.values()],
            "pipelines": Pipeline.objects.prefetch_related("stages"),
        },
    )


def _act(request: HttpRequest, page: Section, key: str, obj: Any) -> HttpResponse:
    """A posted row or item action; back to the item's page when it came from there."""
    action = request.POST.get("action", "")
    if obj is None:
        raise Http404
    try:
        page.act(obj, action, request.POST)
    except REFUSALS as e:
        messages.error(request, " ".join(getattr(e, "messages", [str(e)])))
    else:
        messages.success(request, page.done_message(action))
    back = page.back_query()
    if request.POST.get("back") == "item" and action != "delete":
        return HttpResponseRedirect(reverse("settings_item", args=[key, obj.pk]) + back)
    return HttpResponseRedirect(reverse("settings_section", args=[key]) + back)


@login_required
def section(request: HttpRequest, key: str, pk: int | None = None) -> HttpResponse:
    require_admin(request)
    if key not in SECTIONS:
        raise Http404
    page = SECTIONS[key](request)
    obj = None
    if key == "organisation":
        obj = Organisation.get()
    elif pk is not None:
        obj = page.get(pk)
    if request.method == "POST" and request.POST.get("action"):
        if pk is None and request.POST.get("row"):
            obj = page.get(request.POST["row"])
        return _act(request, page, key, obj)
    form = page.form(obj, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        for name, field in form.fields.items():
            if field.disabled:
                data.pop(name, None)
            elif data.get(name) is None and isinstance(field, forms.CharField):
                data[name] = ""
        try:
            page.save(obj, data)
        except REFUSALS as e:
            show_error(form, e)
        else:
            messages.success(request, _("Saved."))
            return HttpResponseRedirect(reverse("settings_section", args=[key]) + page.back_query())
    rows = []
    for row in page.rows() if page.columns else []:
        cells = []
        for attr, _label in page.columns:
            value = getattr(row, attr)
            cells.append(value() if callable(value) else value)
        rows.append({"obj": row, "cells": cells, "actions": page.row_actions(row)})
    return render(
        request,
        "web/setup_section.html",
        {
            "title": page.heading(),
            "page": page,
            "form": form,
            "obj": obj,
            "rows": rows,
            "headers": [label for _attr, label in page.columns],
            "extra": page.details(obj) if page.extra_template else {},
            "back_query": page.back_query(),
        },
    )


# -- pipelines and stages ---------------------------------------------------------------------


class StageForm(forms.Form):
    name = forms.CharField(label=L("Name"), max_length=100)
    probability = forms.IntegerField(label=L("Default probability (%)"), min_value=0, max_value=100)
    forecast_category = forms.ChoiceField(
        label=L("Forecast category"), choices=ForecastCategory.choices, required=False
    )
    position = forms.IntegerField(
        label=L("Position"),
        min_value=1,
        required=False,
        help_text=L("1 for the first stage; empty: after the other open stages."),
    )


@login_required
def pipeline(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """A pipeline's name, default flag and stages; new open stages are added before won
    and lost."""
    require_admin(request)
    obj = get_object_or_404(Pipeline, pk=pk) if pk is not None else None
    user: Any = me(request)
    form = forms.Form(
        request.POST if request.method == "POST" and "pipeline" in request.POST else None,
        initial={
            "name": obj.name,
            "is_default": obj.is_default,
            "active": obj.active,
            "order": obj.order,
        }
        if obj
        else {"active": True},
    )
    form.fields.update(model_fields(Pipeline, ["name", "is_default", "active", "order"]))
    stage_form = StageForm(
        request.POST if "stage" in request.POST else None,
        initial={"probability": 10, "forecast_category": ForecastCategory.PIPELINE},
    )
    if request.method == "POST":
        try:
            if "pipeline" in request.POST and form.is_valid():
                if obj is None:
                    obj = commerce.create_pipeline(by=user, **form.cleaned_data)
                else:
                    commerce.update_pipeline(pipeline=obj, by=user, data=form.cleaned_data)
                messages.success(request, _("Saved."))
                return HttpResponseRedirect(reverse("settings_pipeline", args=[obj.pk]))
            if "stage" in request.POST and obj is not None and stage_form.is_valid():
                commerce.add_stage(pipeline=obj, by=user, **stage_form.cleaned_data)
                messages.success(request, _("Saved."))
                return HttpResponseRedirect(reverse("settings_pipeline", args=[obj.pk]))
            if "rename" in request.POST and obj is not None:
                stage = get_object_or_404(Stage, pk=request.POST.get("rename"), pipeline=obj)
                probability = request.POST.get("probability", "")
                data: dict[str, Any] = {"name": request.POST.get("name", "").strip() or stage.name}
                if probability.isdigit():
                    data["probability"] = int(probability)
                if request.POST.get("forecast_category") in ForecastCategory.values:
                    data["forecast_category"] = request.POST["forecast_category"]
                # (only a form that offered the checkboxes sets them: none ticked clears)
                if "required_fields_offered" in request.POST:
                    data["required_fields"] = request.POST.getlist("required_fields")
                commerce.update_stage(stage=stage, by=user, data=data)
                messages.success(request, _("Saved."))
                return HttpResponseRedirect(reverse("settings_pipeline", args=[obj.pk]))
            if "move" in request.POST and obj is not None:
                stage = get_object_or_404(Stage, pk=request.POST.get("move"), pipeline=obj)
                step = request.POST.get("step", "")
                if step not in ("-1", "1"):
                    raise Http404
                commerce.move_stage(stage=stage, by=user, step=int(step))
                messages.success(request, _("Saved."))
                return HttpResponseRedirect(reverse("settings_pipeline", args=[obj.pk]))
        except REFUSALS as e:
            if "pipeline" in request.POST or "stage" in request.POST:
                show_error(form if "pipeline" in request.POST else stage_form, e)
            else:
                messages.error(request, " ".join(getattr(e, "messages", [str(e)])))
    requirable = requirements.requirable_fields() if obj else []
    return render(
        request,
        "web/setup_pipeline.html",
        {
            "title": obj.name if obj else _("New pipeline"),
            "obj": obj,
            "form": form,
            "stage_form": stage_form,
            "stages": _stage_rows(obj, requirable),
            "forecast_categories": ForecastCategory.choices,
            "requirable": requirable,
        },
    )


def _stage_rows(pipeline: Pipeline | None, requirable: list[Any]) -> list[dict[str, Any]]:
    """The pipeline's stages in order, each with whether it can move up or down (open
    stages among the open ones, won and lost between themselves) and the labels of the
    deal fields it requires."""
    if pipeline is None:
        return []
    stages = list(pipeline.stages.order_by("order"))
    rows = []
    for s in stages:
        group = [t for t in stages if (t.kind == Stage.Kind.OPEN) == (s.kind == Stage.Kind.OPEN)]
        at = group.index(s)
        rows.append(
            {
                "stage": s,
                "up": at > 0,
                "down": at < len(group) - 1,
                "required": set(s.required_fields or []),
                "required_labels": [
                    f.title for f in requirable if f.key in (s.required_fields or [])
                ],
            }
        )
    return rows
