"""The hidden-field matrix (RELIABILITY.md): generated from the metadata registry, so a
field added to the registry is in it at once.

For every object type × every field (built-in, and one custom field per object), a
role that hides that one field: its value, made unmistakable, never appears on any
surface the rep can reach — list pages (default columns and `?cols=` naming every
field), the record page, the pages of the records it belongs to (side lists), the
board and the home page, the API (get, list, expand from records that point at it),
exports (CSV and XLSX), dashboard drill-downs (HTML, CSV, XLSX) — and no result
depends on it: the API refuses it as a filter and a sort, the report builder refuses to
filter, group or measure by it, and a search for the value finds nothing.

Values that cannot be told apart from the page's other text (choices, references, yes/no,
small numbers) are checked through the refusals only.

Custom objects (自定义对象) are in it through a fixed test object, `zq_visit` (ZQ_VISIT:
linked to customers, with a text, a number and a choice field), defined in the
database by each of its cases: its cases are its hideable fields as the registry builds
them from that one static definition (collection cannot read the database), so a field
added to ZQ_VISIT joins the matrix. Its surfaces: its list page (default columns and
`?cols=` of every field), its record page, its section on the linked customer's page,
global search, `/api/v1/objects/zq_visit` (list, get, filters and sorts refused),
exports and the report builder.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from django.db import DataError, IntegrityError, transaction
from django.test import Client
from django.urls import NoReverseMatch, reverse

from salesops.activities.tests.factories import FollowUpFactory, TaskFactory
from salesops.api.framework import REGISTRY as API
from salesops.api.tokens import create_token
from salesops.crm.tests.factories import (
    ContactFactory,
    CustomerFactory,
    DealFactory,
    LeadFactory,
    ProductFactory,
)
from salesops.crm.tests.more_factories import (
    ContractFactory,
    PaymentFactory,
    PaymentPlanFactory,
    QuoteFactory,
)
from salesops.customization import admin_services as fields_admin
from salesops.customization import registry
from salesops.customization.models import CustomField
from salesops.imports.exporting import export_bytes
from salesops.objects import services as objects
from salesops.objects.metadata import spec_for
from salesops.objects.models import CustomObject, CustomRecord
from salesops.reports import services as reports
from salesops.users.models import User

#: Object types in the matrix, and how to make one record of each owned by `owner`.
MAKERS: dict[str, Any] = {
    "lead": lambda owner, **kw: LeadFactory(owner=owner, **kw),
    "customer": lambda owner, **kw: CustomerFactory(owner=owner, **kw),
    "contact": lambda owner, **kw: ContactFactory(
        owner=owner, customer=CustomerFactory(owner=owner), **kw
    ),
    "deal": lambda owner, **kw: DealFactory(owner=owner, **kw),
    "followup": lambda owner, **kw: FollowUpFactory(owner=owner, **kw),
    "task": lambda owner, **kw: TaskFactory(
        owner=owner, customer=CustomerFactory(owner=owner), **kw
    ),
    "product": lambda owner, **kw: ProductFactory(**kw),
    "quote": lambda owner, **kw: QuoteFactory(owner=owner, **kw),
    "contract": lambda owner, **kw: ContractFactory(owner=owner, **kw),
    "payment": lambda owner, **kw: PaymentFactory(owner=owner, **kw),
    "payment_plan": lambda owner, **kw: PaymentPlanFactory(owner=owner, **kw),
}

TEXT_SENTINEL = "Zqxhiddenvalue"
NUMBER_SENTINEL = Decimal("9753.47")
DATE_SENTINEL = dt.date(2037, 3, 9)


def shows(needle: str, text: str) -> bool:
    """Whether a needle appears in a text. A needle that starts with a digit counts only
    as a number of its own: not inside a longer number, a token or the fraction of a
    timestamp (`.203764` holds "2037" but is no date)."""
    if not needle[:1].isdigit():
        return needle in text
    return re.search(rf"(?<![0-9A-Za-z.]){re.escape(needle)}(?!\d)", text) is not None


def sentinel(f: registry.FieldSpec) -> tuple[Any, list[str]]:
    """(value to store, strings that must never appear) for a field; no strings when
    the value cannot be told apart from other text on a page or is set by the database
    (the time of the last change)."""
    if f.key == "updated_at":
        return None, []
    match f.type:
        case registry.TEXT | registry.LONG_TEXT:
            return TEXT_SENTINEL, [TEXT_SENTINEL]
        case registry.EMAIL:
            return "zqxhidden@example.org", ["zqxhidden"]
        case registry.PHONE:
            return "13977553311", ["13977553311", "7755331"]
        case registry.URL:
            return "https://zqxhidden.example.org/", ["zqxhidden"]
        case registry.MONEY | registry.NUMBER:
            return NUMBER_SENTINEL, ["9753.47", "9,753.47", "9753.5", "9,753.5", "9,753"]
        case registry.INTEGER:
            return 9753, ["9753", "9,753"]
        case registry.DATE:
            return DATE_SENTINEL, ["2037"]
        case registry.DATETIME:
            return dt.datetime(2037, 3, 9, 10, 30, tzinfo=dt.UTC), ["2037"]
    return None, []


def cases() -> list[Any]:
    out = []
    for object_type in MAKERS:
        spec = registry.get(object_type)
        for f in spec.hideable(custom=False):
            out.append(pytest.param(object_type, f.key, id=f"{object_type}.{f.key}"))
        if spec.customisable:
            out.append(pytest.param(object_type, "zq_custom", id=f"{object_type}.custom"))
    return out


class Surfaces:
    """What the rep can reach about one record: pages, API, exports, drill-downs."""

    def __init__(self, user: User, record: Any, object_type: str) -> None:
        self.user = user
        self.record = record
        self.object_type = object_type
        self.spec = registry.get(object_type)
        self.web = Client()
        self.web.force_login(user)
        self.token = create_token(user=user, scope="read").raw

    def api(self, path: str, **params: Any) -> Any:
        return self.web.get(
            f"/api/v1/{path}", params, headers={"Authorization": f"Bearer {self.token}"}
        )

    def resource(self, object_type: str) -> Any:
        model = registry.get(object_type).model
        return next((r for r in API.values() if r.model is model), None)

    def pages(self) -> list[tuple[str, str]]:
        """(what, text) of every page showing the record."""
        urls = []
        if self.spec.list_url:
            urls.append(reverse(self.spec.list_url))
            cols = "&".join(f"cols={f.key}" for f in self.spec.fields(derived=True))
            urls.append(reverse(self.spec.list_url) + "?" + cols)
        if self.spec.detail_url:
            urls.append(reverse(self.spec.detail_url, args=[self.record.pk]))
        for f in self.spec.fields():
            parent_id = getattr(self.record, f.attname, None) if f.type == registry.REF else None
            parent = registry.find(f.ref)
            if parent_id and parent and parent.detail_url:
                urls.append(reverse(parent.detail_url, args=[parent_id]))
        if self.object_type in ("deal", "customer", "task", "followup"):
            urls.append(reverse("home"))
        if self.object_type == "deal":
            urls.append(reverse("board"))
        out = []
        for url in urls:
            response = self.web.get(url)
            assert response.status_code == 200, f"{url} answered {response.status_code}"
            out.append((url, response.content.decode()))
        return out

    def api_bodies(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        res = self.resource(self.object_type)
        if res is None:
            return out
        for path in (f"{res.name}", f"{res.name}/{self.record.pk}"):
            response = self.api(path)
            assert response.status_code == 200, (path, response.content[:300])
            out.append((path, response.content.decode()))
        # Records pointing at this one, expanded.
        for other in API.values():
            for rel, target in other.expand.items():
                if target == res.name:
                    response = self.api(other.name, expand=rel)
                    if response.status_code == 200:
                        out.append((f"{other.name}?expand={rel}", response.content.decode()))
        return out

    def exports(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if not self.user.has_right(self.object_type, "export"):
            return out
        try:
            out.append(("export.csv", export_bytes(self.object_type, user=self.user).decode()))
            xlsx = export_bytes(self.object_type, user=self.user, fmt="xlsx")
        except KeyError:  # not an exportable object type
            return out
        out.append(("export.xlsx", xlsx_text(xlsx)))
        return out

    def drills(self) -> list[tuple[str, str]]:
        metrics = {"deal": ["open", "won"], "followup": ["touchpoints"], "payment": ["payments"]}
        out: list[tuple[str, str]] = []
        for metric in metrics.get(self.object_type, []):
            url = reverse("dashboard_drill", args=[metric])
            for fmt in ("html", "csv", "xlsx"):
                response = self.web.get(url, {"format": fmt} if fmt != "html" else {})
                if response.status_code != 200:
                    continue
                body = b"".join(response) if response.streaming else response.content
                text = xlsx_text(body) if fmt == "xlsx" else body.decode()
                out.append((f"{url}?format={fmt}", text))
        return out


def xlsx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "\n".join(
            z.read(n).decode() for n in z.namelist() if n.endswith(".xml") and "xl/" in n
        )


# -- a custom object ------------------------------------------------------------------------

#: The custom object of the matrix, defined from this one static description; a field
#: (or a link) added here joins the matrix's cases.
ZQ_VISIT: dict[str, Any] = {
    "key": "zq_visit",
    "label": "Zq visit",
    "plural": "Zq visits",
    "title_label": "Subject",
    "links": ["customer"],
    "fields": [
        {"key": "zq_note", "label": "Zq note", "field_type": CustomField.Type.TEXT},
        {"key": "zq_amount", "label": "Zq amount", "field_type": CustomField.Type.NUMBER},
        {
            "key": "zq_kind",
            "label": "Zq kind",
            "field_type": CustomField.Type.SELECT,
            "options": [
                {"value": "zqxoptval", "label": "Zqxoptlabel"},
                {"value": "plain", "label": "Plain"},
            ],
        },
    ],
}
#: Its record's title: shown to everyone (a title cannot be hidden).
ZQ_TITLE = "Matrix visit"


def object_cases() -> list[Any]:
    """The hideable fields of ZQ_VISIT as the registry builds them, without the
    database: its built-in fields (links, times; not the title nor the owner) from an
    unsaved definition, then its custom fields."""
    key = ZQ_VISIT["key"]
    spec = spec_for(CustomObject(key=key, label=ZQ_VISIT["label"], links=ZQ_VISIT["links"]))
    keys = [f.key for f in spec.hideable(custom=False)]
    keys += [f["key"] for f in ZQ_VISIT["fields"]]
    return [pytest.param(k, id=f"{key}.{k}") for k in keys]


def define_zq_visit(admin: User) -> registry.ObjectSpec:
    objects.define_object(
        by=admin,
        key=ZQ_VISIT["key"],
        label=ZQ_VISIT["label"],
        plural=ZQ_VISIT["plural"],
        title_label=ZQ_VISIT["title_label"],
        links=list(ZQ_VISIT["links"]),
    )
    for field in ZQ_VISIT["fields"]:
        fields_admin.create_custom_field(by=admin, object_type=ZQ_VISIT["key"], **field)
    return registry.get(ZQ_VISIT["key"])


def object_sentinel(f: registry.FieldSpec) -> tuple[Any, list[str]]:
    """(value to store, strings that must never appear) for a field of ZQ_VISIT: as
    `sentinel`, a choice's unmistakable option (its value and its label) and numbers as
    the JSON the record stores."""
    if f.type == registry.CHOICE:
        return "zqxoptval", ["zqxoptval", "Zqxoptlabel"]
    value, needles = sentinel(f)
    if f.is_custom and isinstance(value, Decimal):
        value = float(value)
    return value, needles


def api_name(f: registry.FieldSpec) -> str:
    """The field's name in the API's filters and sorts."""
    return f"custom.{f.key}" if f.is_custom else f.key


def probe_of(record: Any, f: registry.FieldSpec) -> str:
    """The record's value of `f` as a filter's text (ISO for times)."""
    if f.is_custom:
        return str((record.custom or {}).get(f.key, "1"))
    current = getattr(record, f.attname or f.key)
    return current.isoformat() if hasattr(current, "isoformat") else str(current)


class ObjectSurfaces(Surfaces):
    """What the rep can reach about one record of a custom object."""

    def pages(self) -> list[tuple[str, str]]:
        key = self.spec.key
        urls = [
            reverse("object_list", args=[key]),
            reverse("object_list", args=[key])
            + "?"
            + "&".join(f"cols={f.key}" for f in self.spec.fields(derived=True)),
            self.spec.record_url(self.record.pk),
            reverse("search") + f"?q={ZQ_TITLE}",
        ]
        for link in self.spec.links:
            parent_id = getattr(self.record, f"{link}_id", None)
            if parent_id:
                urls.append(registry.get(link).record_url(parent_id))
        out = []
        for url in urls:
            response = self.web.get(url)
            assert response.status_code == 200, f"{url} answered {response.status_code}"
            out.append((url, response.content.decode()))
        return out

    def found_by_search(self, text: str) -> bool:
        response = self.web.get(reverse("search"), {"q": text})
        assert response.status_code == 200
        return self.spec.record_url(self.record.pk) in response.content.decode()

    def api_bodies(self) -> list[tuple[str, str]]:
        out = []
        for path in (f"objects/{self.spec.key}", f"objects/{self.spec.key}/{self.record.pk}"):
            response = self.api(path)
            assert response.status_code == 200, (path, response.content[:300])
            out.append((path, response.content.decode()))
        return out

    def drills(self) -> list[tuple[str, str]]:
        return []


@pytest.mark.parametrize("key", object_cases())
def test_a_hidden_field_of_a_custom_object_never_shows_and_nothing_depends_on_it(cast, hiding, key):
    spec = define_zq_visit(cast.admin)
    object_type = spec.key
    f = spec.field(key)
    assert f is not None
    value, needles = object_sentinel(f)
    customer = CustomerFactory(owner=cast.rep)
    record = CustomRecord.objects.create(
        kind_id=spec.custom_object_id, title=ZQ_TITLE, owner=cast.rep, customer=customer
    )
    if needles:
        if f.is_custom:
            record.custom = {key: value}
        else:
            setattr(record, f.attname or f.key, value)
        record.save()
    rep = hiding(object_type, key)
    surfaces = ObjectSurfaces(rep, record, object_type)

    # The value never appears, and a search for it finds nothing.
    if needles:
        texts = [*surfaces.pages(), *surfaces.api_bodies(), *surfaces.exports()]
        assert any(where.startswith("export") for where, _t in texts), "no export checked"
        for where, text in texts:
            for needle in needles:
                assert not shows(needle, text), f"{object_type}.{key} shows on {where}"
        for needle in needles:
            assert not surfaces.found_by_search(needle), f"a search for {needle} finds it"
        # The administrator, who hides nothing, does see it (the test can fail).
        admin = ObjectSurfaces(cast.admin, record, object_type)
        admin_texts = [*admin.api_bodies(), *admin.pages()]
        assert any(shows(n, t) for _w, t in admin_texts for n in needles), "sentinel not stored"

    # No result depends on it: refused as an API filter and sort (the administrator's
    # same filter and sort answer).
    name = api_name(f)
    probe = probe_of(record, f)
    for params in ({name: probe}, {f"{name}__gte": probe}, {"sort": name}, {"sort": f"-{name}"}):
        response = surfaces.api(f"objects/{object_type}", **params)
        assert 400 <= response.status_code < 500, (params, response.status_code)
        for needle in needles:
            assert not shows(needle, response.content.decode())
    admin = ObjectSurfaces(cast.admin, record, object_type)
    for params in ({name: probe}, {"sort": name}):
        if "sort" in params and not (f.sortable or f.is_custom):
            continue
        response = admin.api(f"objects/{object_type}", **params)
        assert response.status_code == 200, (params, response.content[:300])

    # The report builder refuses to filter, group or measure by it (the administrator
    # filters by it).
    by_it = {"filters": [{"field": key, "op": "empty", "value": ""}]}
    for definition in (
        by_it,
        {"group_by": [{"field": key}]},
        {"measures": [{"agg": "sum", "field": key}]},
    ):
        result = reports.run_definition(user=rep, object_type=object_type, definition=definition)
        assert result.errors and result.rows == [], definition
    allowed = reports.run_definition(user=cast.admin, object_type=object_type, definition=by_it)
    assert not allowed.errors, allowed.errors


def test_the_matrix_covers_every_hideable_field_of_its_custom_object(cast):
    """The static cases are the test object's hideable fields as the database-backed
    registry has them once it is defined."""
    spec = define_zq_visit(cast.admin)
    assert {p.values[0] for p in object_cases()} == {f.key for f in spec.hideable()}
    assert "title" not in {p.values[0] for p in object_cases()}


@pytest.fixture
def hiding(cast):
    """`hiding(object_type, key)`: the rep, whose role now hides that one field (and may
    view and export everything in scope)."""

    def make(object_type: str, key: str) -> User:
        role = cast.rep.role
        role.rights = {
            t: ["view", "create", "edit", "export"]
            for t in {o.rights_type for o in registry.objects()}
        }
        role.hidden_fields = {object_type: [key]}
        role.save()
        return User.objects.get(pk=cast.rep.pk)

    return make


@pytest.mark.parametrize(("object_type", "key"), cases())
def test_a_hidden_field_never_shows_and_nothing_depends_on_it(cast, hiding, object_type, key):
    spec = registry.get(object_type)
    if key == "zq_custom":
        CustomField.objects.create(
            object_type=object_type, key=key, label="Zq custom", field_type="text"
        )
    f = spec.field(key)
    assert f is not None
    value, needles = sentinel(f)
    record = MAKERS[object_type](cast.rep)
    if needles:
        if f.is_custom:
            record.custom = {key: value}
        else:
            setattr(record, f.attname or f.key, value)
        try:
            with transaction.atomic():
                record.save()
        except (IntegrityError, DataError):  # the value breaks a rule (a range, a state)
            needles = []
            record.refresh_from_db()
    rep = hiding(object_type, key)
    surfaces = Surfaces(rep, record, object_type)

    # The value never appears.
    if needles:
        texts = [*surfaces.pages(), *surfaces.api_bodies(), *surfaces.exports()]
        texts += surfaces.drills()
        for where, text in texts:
            for needle in needles:
                assert not shows(needle, text), f"{object_type}.{key} shows on {where}"
        # The administrator, who hides nothing, does see it somewhere (the test can fail).
        admin = Surfaces(cast.admin, record, object_type)
        admin_texts = [*admin.api_bodies(), *admin.pages()]
        assert any(shows(n, t) for _w, t in admin_texts for n in needles), "sentinel not stored"

    # No result depends on it: refused as an API filter and sort.
    res = surfaces.resource(object_type)
    if res is not None:
        for params in ({key: "1"}, {f"{key}__gte": "1"}, {"sort": key}, {"sort": f"-{key}"}):
            response = surfaces.api(res.name, **params)
            assert 400 <= response.status_code < 500, (params, response.status_code)
            assert TEXT_SENTINEL not in response.content.decode()

    # The report builder refuses to filter, group or measure by it.
    try:
        reports.run_definition(user=rep, object_type=object_type, definition={})
    except Exception:  # not a report object (or the rep may not run it)
        return
    for definition in (
        {"filters": [{"field": key, "op": "empty", "value": ""}]},
        {"group_by": [{"field": key}]},
        {"measures": [{"agg": "sum", "field": key}]},
    ):
        result = reports.run_definition(user=rep, object_type=object_type, definition=definition)
        assert result.errors and result.rows == [], definition


def test_the_matrix_covers_every_registered_field():
    """A field added to the registry joins the matrix without editing this file."""
    ids = {p.id for p in cases()}
    for spec in registry.objects(custom=False):
        if spec.field_security:
            assert spec.key in MAKERS, f"{spec.key} is not in the matrix"
        for f in spec.hideable(custom=False):
            assert f"{spec.key}.{f.key}" in ids


def test_every_list_and_record_page_url_of_the_registry_exists():
    for spec in registry.objects(custom=False):
        for name in (spec.list_url, spec.detail_url):
            if not name:
                continue
            try:
                reverse(name) if name == spec.list_url else reverse(name, args=[1])
            except NoReverseMatch:
                pytest.fail(f"{spec.key}: no URL named {name}")
