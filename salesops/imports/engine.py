"""Importing rows through the services, as the importing user.

Every row goes through the same service as a page or the API would call (validation,
the public-pool cap, permissions), inside its own savepoint: a row is written whole or
not at all, children included (a customer's primary contact). The modes:

* **all-or-nothing** — one transaction for the file; every row is still tried, so the
  error file lists every bad row, then nothing is committed if one failed;
* **skip-errors** — one transaction per chunk of rows, committed with the progress
  that describes it; bad rows are left out and listed.

Duplicates are looked for among the records the importer can see and the rows already
imported from the same file, by normalised e-mail, phone, company name (or SKU, or the
natural key of deals, follow-ups and payments), then skipped, updated or created anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from salesops.customization import computed, registry
from salesops.imports.fields import ObjectSpec, spec_for
from salesops.imports.reading import Row, Table
from salesops.imports.rows import (
    CustomRules,
    FieldRules,
    Problem,
    Resolver,
    RowReader,
    split_values,
)
from salesops.imports.values import CellError, company_key, phone_key
from salesops.lib.services import NotVisible
from salesops.org.models import Organisation

ALL_OR_NOTHING = "all-or-nothing"
SKIP_ERRORS = "skip-errors"
MODES = (ALL_OR_NOTHING, SKIP_ERRORS)
DEDUPE = ("skip", "update", "create")
POOL_WORDS = {"公海", "pool", "public pool", "公海池", "无"}


class RowFailed(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


class MappingProblem(ValueError):
    """The mapping cannot import this file (a required field has no column)."""


@dataclass
class Report:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    processed: int = 0
    last_line: int = 0
    #: (line, problem), in file order; all of them unless `keep_errors` limited it.
    errors: list[tuple[int, Problem]] = field(default_factory=list)
    cancelled: bool = False
    rolled_back: bool = False

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "failed": self.failed,
            "processed": self.processed,
        }


# -- one row ----------------------------------------------------------------------------


class RowImporter:
    """Imports one row at a time for one user, object type and mapping."""

    def __init__(
        self,
        *,
        user: Any,
        object_type: str,
        headers: list[str],
        columns: dict[str, str],
        dedupe: str = "skip",
        day_first: bool = False,
    ) -> None:
        self.user = user
        self.spec: ObjectSpec = spec_for(object_type, user=user)
        self.dedupe = dedupe
        org = Organisation.get()
        self.reader = RowReader(self.spec, headers, columns, tz=org.tz, day_first=day_first)
        missing = self.reader.missing_required()
        if missing:
            raise MappingProblem(
                _("Choose a column for: %(fields)s.")
                % {"fields": ", ".join(str(t.label) for t in missing)}
            )
        self.resolver = Resolver(user)
        plain = [
            t.key
            for t in self.spec.targets
            if t.model_field != "" and t.key in self.reader.header_of and "." not in t.key
        ]
        self.rules = FieldRules(self.spec.model, plain)
        self.custom_rules = CustomRules(object_type)
        #: Required references (a contact's customer...): an empty cell is a problem.
        self.required_refs = [
            t.key
            for t in self.spec.targets
            if t.required
            and t.model_field == ""
            and t.custom is None
            and t.key in self.reader.header_of
        ]
        self.handler = handler_class(object_type)(self)
        self.seen: dict[str, int] = {}
        self._existing: dict[str, int] | None = None

    # -- helpers for handlers --
    def column(self, key: str) -> str:
        return self.reader.header_of.get(key, "")

    def problem(self, key: str, message: Any, value: Any = "") -> Problem:
        column = self.column(key)
        if not value and column:
            value = self._current.get(key, "")
        return Problem(column, "" if value is None else str(value), str(message))

    def ref(self, key: str, find: Callable[[str], Any], problems: list[Problem]) -> Any:
        text = self._current.get(key)
        if not text:
            return None
        try:
            return find(text)
        except CellError as e:
            problems.append(Problem(self.column(key), str(text), str(e)))
            return None

    # -- the row --
    def check(self, cells: list[Any]) -> tuple[dict[str, Any], dict[str, Any], list[Problem]]:
        """The row's values, the records it names and its problems: everything the row
        path checks before calling the service. The bulk path calls this too for every
        row its fast converters do not vouch for, so both report the same problems."""
        values, problems = self.reader.read(cells)
        self._current = values
        refs = self.handler.resolve(values, problems)
        for key in self.required_refs:
            if not values.get(key):
                problems.append(self.problem(key, _("This field cannot be blank.")))
        plain, custom = split_values(values)
        if not problems:
            for name, messages in self.rules.errors(plain).items():
                problems.extend(self.problem(name, m) for m in messages)
            _cleaned, custom_errors = self.custom_rules.clean(self.handler.custom_input(custom))
            for key, messages in custom_errors.items():
                problems.extend(self.problem(key, m) for m in messages)
        return values, refs, problems

    def import_row(self, row: Row) -> str:
        """ "created", "updated" or "skipped"; raises RowFailed. Call inside a savepoint."""
        values, refs, problems = self.check(row.cells)
        if problems:
            raise RowFailed(problems)
        keys = self.handler.keys(values, refs) if self.dedupe != "create" else []
        existing = self.find(keys) if keys else None
        try:
            if existing is not None and self.dedupe == "skip":
                return "skipped"
            if existing is not None and self.dedupe == "update":
                self.handler.update(existing, values, refs)
                outcome = "updated"
                pk = existing
            else:
                pk = self.handler.create(values, refs).pk
                outcome = "created"
        except ValidationError as e:
            raise RowFailed(self._validation_problems(e)) from None
        except (PermissionDenied, NotVisible) as e:
            raise RowFailed([Problem("", "", str(e))]) from None
        for key in keys:
            self.seen.setdefault(key, pk)
        return outcome

    def _validation_problems(self, e: ValidationError) -> list[Problem]:
        if not hasattr(e, "error_dict"):
            return [Problem("", "", str(m)) for m in e.messages]
        problems: list[Problem] = []
        for name, messages in e.message_dict.items():
            key = name if name != "__all__" else ""
            problems.extend(self.problem(key, m) for m in messages)
        return problems

    def find(self, keys: list[str]) -> int | None:
        for key in keys:
            if key in self.seen:
                return self.seen[key]
        if self._existing is None:
            self._existing = {}
            if self.handler.preload:
                for pk, record_keys in self.handler.existing():
                    for key in record_keys:
                        self._existing.setdefault(key, pk)
        for key in keys:
            if key in self._existing:
                return self._existing[key]
        return self.handler.query(keys)


# -- per object type ----------------------------------------------------------------------


class Handler:
    """How rows of one object type are resolved, keyed, created and updated."""

    #: Existing records' keys are loaded once (True) or each row queries (False).
    preload = True

    def __init__(self, importer: RowImporter) -> None:
        self.imp = importer
        self.user = importer.user
        self.r = importer.resolver

    def resolve(self, values: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
        refs: dict[str, Any] = {}
        owner_text = values.get("owner")
        if owner_text:
            if owner_text.casefold() in POOL_WORDS and self.imp.spec.object_type == "customer":
                refs["owner"] = None
                refs["pool"] = True
            else:
                refs["owner"] = self.imp.ref("owner", self.r.owner, problems)
        for key, target in ((t.key, t) for t in self.imp.spec.targets if t.custom):
            if target.custom is not None and target.custom.field_type == "user" and values.get(key):
                person = self.imp.ref(key, self.r.owner, problems)
                values[key] = person.pk if person is not None else None
        return refs

    def custom_input(self, custom: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in custom.items() if v is not None}

    def fields(self, values: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
        return {n: values[n] for n in names if n in values and values[n] is not None}

    def keys(self, values: dict[str, Any], refs: dict[str, Any]) -> list[str]:
        return []

    def existing(self) -> Iterator[tuple[int, list[str]]]:
        return iter(())

    def query(self, keys: list[str]) -> int | None:
        return None

    def create(self, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        raise NotImplementedError

    def update(self, pk: int, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        from salesops.crm.services import update_record, writable

        model: Any = self.imp.spec.model
        editable = writable(self.user, model.object_type)
        plain, custom = split_values(values)
        data = {k: v for k, v in plain.items() if k in editable and v not in (None, "")}
        obj = model.objects.get(pk=pk)
        return update_record(
            obj=obj, by=self.user, data=data, custom=self.custom_input(custom) or None
        )


def _contact_keys(email: str, *phones: str) -> list[str]:
    keys = [f"email:{email}"] if email else []
    keys += [f"phone:{phone_key(p)}" for p in phones if p]
    return keys


class LeadHandler(Handler):
    def keys(self, values: dict[str, Any], refs: dict[str, Any]) -> list[str]:
        keys = _contact_keys(values.get("email", ""), values.get("phone", ""))
        if values.get("company"):
            keys.append(f"company:{company_key(values['company'])}")
        return keys

    def existing(self) -> Iterator[tuple[int, list[str]]]:
        from salesops.crm.models import Lead

        rows = Lead.objects.visible_to(self.user).values_list("id", "email", "phone", "company")
        for pk, email, phone, company in rows.iterator(chunk_size=5000):
            keys = _contact_keys((email or "").lower(), _stored_phone(phone))
            if company:
                keys.append(f"company:{company_key(company)}")
            yield pk, keys

    def create(self, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        from salesops.crm.services import create_lead

        plain, custom = split_values(values)
        return create_lead(
            by=self.user,
            owner=refs.get("owner"),
            custom=self.custom_input(custom),
            **self.fields(plain, self.imp.spec.plain()),
        )


def _stored_phone(phone: str | None) -> str:
    """A phone number as stored (maybe typed in a page), normalised like an imported one."""
    from salesops.imports.values import parse_phone

    if not phone:
        return ""
    try:
        return parse_phone(phone)
    except CellError:
        return phone


class CustomerHandler(Handler):
    CONTACT_KEYS = ("contact.name", "contact.mobile", "contact.email", "contact.title")

    def keys(self, values: dict[str, Any], refs: dict[str, Any]) -> list[str]:
        keys = [f"company:{company_key(values['name'])}"] if values.get("name") else []
        return keys + _contact_keys(values.get("email", ""), values.get("phone", ""))

    def existing(self) -> Iterator[tuple[int, list[str]]]:
        from salesops.crm.models import Customer

        rows = Customer.objects.visible_to(self.user).values_list("id", "name", "email", "phone")
        for pk, name, email, phone in rows.iterator(chunk_size=5000):
            keys = [f"company:{company_key(name)}"]
            yield pk, keys + _contact_keys((email or "").lower(), _stored_phone(phone))

    def create(self, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        from salesops.crm.services import create_contact, create_customer

        plain, custom = split_values(values)
        owner: Any = None if refs.get("pool") else refs.get("owner") or "me"
        customer = create_customer(
            by=self.user,
            owner=owner,
            custom=self.custom_input(custom),
            **self.fields(plain, self.imp.spec.plain()),
        )
        contact = {k[8:]: v for k, v in plain.items() if k in self.CONTACT_KEYS and v}
        if contact:
            if not contact.get("name"):
                raise ValidationError(
                    {
                        "contact.name": _(
                            "Give the contact's name, or leave the contact columns empty."
                        )
                    }
                )
            create_contact(by=self.user, customer=customer, is_primary=True, **contact)
        return customer


class ContactHandler(Handler):
    def resolve(self, values: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
        refs = super().resolve(values, problems)
        refs["customer"] = self.imp.ref("customer", self.r.customer, problems)
        return refs

    def keys(self, values: dict[str, Any], refs: dict[str, Any]) -> list[str]:
        return _contact_keys(
            values.get("email", ""), values.get("mobile", ""), values.get("phone", "")
        )

    def existing(self) -> Iterator[tuple[int, list[str]]]:
        from salesops.crm.models import Contact

        rows = Contact.objects.visible_to(self.user).values_list("id", "email", "mobile", "phone")
        for pk, email, mobile, phone in rows.iterator(chunk_size=5000):
            yield (
                pk,
                _contact_keys((email or "").lower(), _stored_phone(mobile), _stored_phone(phone)),
            )

    def create(self, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        from salesops.crm.services import create_contact

        plain, custom = split_values(values)
        return create_contact(
            by=self.user,
            customer=refs["customer"],
            custom=self.custom_input(custom),
            **self.fields(plain, self.imp.spec.plain()),
        )


class DealHandler(Handler):
    preload = False

    def resolve(self, values: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
        refs = super().resolve(values, problems)
        customer = refs["customer"] = self.imp.ref("customer", self.r.customer, problems)
        refs["contact"] = self.imp.ref("contact", lambda t: self.r.contact(t, customer), problems)
        pipeline = refs["pipeline"] = self.imp.ref("pipeline", self.r.pipeline, problems)
        refs["stage"] = self.imp.ref("stage", lambda t: self.r.stage(t, pipeline), problems)
        refs["currency"] = self.imp.ref("currency", self.r.currency, problems)
        return refs

    def keys(self, values: dict[str, Any], refs: dict[str, Any]) -> list[str]:
        customer = refs.get("customer")
        if customer is None:
            return []
        return [f"deal:{customer.pk}:{values['name'].casefold()}"]

    def query(self, keys: list[str]) -> int | None:
        from salesops.crm.models import Deal

        _kind, customer_id, _name = keys[0].split(":", 2)
        found = Deal.objects.visible_to(self.user).filter(
            customer_id=int(customer_id), name__iexact=self.imp._current["name"]
        )
        return found.values_list("id", flat=True).first()

    def create(self, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        from salesops.crm.services import create_deal

        plain, custom = split_values(values)
        return create_deal(
            by=self.user,
            customer=refs["customer"],
            name=plain["name"],
            pipeline=refs.get("pipeline"),
            stage=refs.get("stage"),
            amount=plain.get("amount") or 0,
            currency=refs.get("currency"),
            expected_close=plain.get("expected_close"),
            owner=refs.get("owner"),
            contact=refs.get("contact"),
            probability=plain.get("probability"),
            source=plain.get("source") or "",
            custom=self.custom_input(custom),
        )

    def update(self, pk: int, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        from salesops.crm.models import Deal
        from salesops.crm.services import update_record

        plain, custom = split_values(values)
        # (the name, with the customer, is what found the deal: it stays)
        names = set(self.imp.spec.plain()) - {"name"}
        data = {k: v for k, v in plain.items() if k in names and v not in (None, "")}
        if refs.get("contact") is not None:
            data["contact"] = refs["contact"]
        if refs.get("currency"):
            data["currency"] = refs["currency"]
        obj = Deal.objects.get(pk=pk)
        return update_record(
            obj=obj, by=self.user, data=data, custom=self.custom_input(custom) or None
        )


class FollowUpHandler(Handler):
    preload = False

    def resolve(self, values: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
        refs = super().resolve(values, problems)
        customer = refs["customer"] = self.imp.ref("customer", self.r.customer, problems)
        refs["contact"] = self.imp.ref("contact", lambda t: self.r.contact(t, customer), problems)
        refs["deal"] = self.imp.ref("deal", lambda t: self.r.deal(t, customer), problems)
        refs["lead"] = self.imp.ref("lead", self.r.lead, problems)
        return refs

    def keys(self, values: dict[str, Any], refs: dict[str, Any]) -> list[str]:
        moment = values.get("occurred_at")
        links = [refs.get(k) for k in ("lead", "customer", "contact", "deal")]
        if moment is None or not any(links):
            return []
        ids = ":".join(str(getattr(o, "pk", "")) for o in links)
        return [f"followup:{values['kind']}:{moment.astimezone(dt.UTC).isoformat()}:{ids}"]

    def query(self, keys: list[str]) -> int | None:
        from salesops.activities.models import FollowUp

        values = self.imp._current
        qs = FollowUp.objects.visible_to(self.user).filter(
            kind=values["kind"], occurred_at=values["occurred_at"]
        )
        parts = keys[0].rsplit(":", 4)[1:]
        for name, pk in zip(("lead", "customer", "contact", "deal"), parts, strict=True):
            qs = qs.filter(**{f"{name}_id": int(pk) if pk else None})
        return qs.values_list("id", flat=True).first()

    def create(self, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        from salesops.activities.services import log_followup

        plain, custom = split_values(values)
        return log_followup(
            by=self.user,
            kind=plain["kind"],
            occurred_at=plain.get("occurred_at"),
            lead=refs.get("lead"),
            customer=refs.get("customer"),
            contact=refs.get("contact"),
            deal=refs.get("deal"),
            subject=plain.get("subject") or "",
            outcome=plain.get("outcome") or "",
            next_step=plain.get("next_step") or "",
            duration_minutes=plain.get("duration_minutes"),
            custom=self.custom_input(custom),
        )

    def update(self, pk: int, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        raise ValidationError(
            _("Follow-ups cannot be updated by an import; choose skip or create.")
        )


class ProductHandler(Handler):
    def resolve(self, values: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
        refs = super().resolve(values, problems)
        refs["currency"] = self.imp.ref("currency", self.r.currency, problems)
        return refs

    def keys(self, values: dict[str, Any], refs: dict[str, Any]) -> list[str]:
        if values.get("sku"):
            return [f"sku:{values['sku'].casefold()}"]
        return [f"product:{company_key(values['name'])}"] if values.get("name") else []

    def existing(self) -> Iterator[tuple[int, list[str]]]:
        from salesops.crm.models import Product

        rows = Product.objects.visible_to(self.user).values_list("id", "sku", "name")
        for pk, sku, name in rows.iterator(chunk_size=5000):
            yield pk, [f"sku:{sku.casefold()}" if sku else f"product:{company_key(name)}"]

    def create(self, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        from salesops.crm.services import create_product

        plain, custom = split_values(values)
        fields = self.fields(plain, self.imp.spec.plain())
        return create_product(
            by=self.user, custom=self.custom_input(custom), currency=refs.get("currency"), **fields
        )

    def update(self, pk: int, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        from salesops.crm.models import Product
        from salesops.crm.services import update_record

        plain, custom = split_values(values)
        # (the SKU is what found the product: it stays)
        names = set(self.imp.spec.plain()) - {"sku"}
        data = {k: v for k, v in plain.items() if k in names and v not in (None, "")}
        if refs.get("currency"):
            data["currency"] = refs["currency"]
        obj = Product.objects.get(pk=pk)
        return update_record(
            obj=obj, by=self.user, data=data, custom=self.custom_input(custom) or None
        )


class PaymentHandler(Handler):
    preload = False

    def resolve(self, values: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
        refs = super().resolve(values, problems)
        refs["contract"] = self.imp.ref("contract", self.r.contract, problems)
        return refs

    def keys(self, values: dict[str, Any], refs: dict[str, Any]) -> list[str]:
        if not values.get("reference") or refs.get("contract") is None:
            return []
        return [f"payment:{refs['contract'].pk}:{values['reference']}"]

    def query(self, keys: list[str]) -> int | None:
        from salesops.crm.models import Payment

        _kind, contract_id, reference = keys[0].split(":", 2)
        qs = Payment.objects.visible_to(self.user).filter(
            contract_id=int(contract_id), reference=reference
        )
        return qs.values_list("id", flat=True).first()

    def create(self, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        from salesops.crm.services import record_payment

        extra = {"method": values["method"]} if values.get("method") else {}
        return record_payment(
            by=self.user,
            amount=values["amount"],
            received_on=values["received_on"],
            contract=refs["contract"],
            reference=values.get("reference") or "",
            **extra,
        )

    def update(self, pk: int, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        raise ValidationError(_("Payments cannot be updated by an import; choose skip or create."))


class CustomObjectHandler(Handler):
    """Records of a custom object (自定义对象): links named by the linked record's name
    (a customer by its name, a contact or deal within the row's customer), the owner by
    name, the object's fields; a duplicate is a record with the same title (the
    object's `dedupe`) among those the importer can see. Created and changed through
    `objects.services`, so rights, scopes, validation and the audit log apply."""

    def resolve(self, values: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
        refs = super().resolve(values, problems)
        links = registry.get(self.imp.spec.object_type).links
        customer = None
        if "customer" in links:
            customer = refs["customer"] = self.imp.ref("customer", self.r.customer, problems)
        if "contact" in links:
            refs["contact"] = self.imp.ref(
                "contact", lambda t: self.r.contact(t, customer), problems
            )
        if "deal" in links:
            refs["deal"] = self.imp.ref("deal", lambda t: self.r.deal(t, customer), problems)
        return refs

    def keys(self, values: dict[str, Any], refs: dict[str, Any]) -> list[str]:
        title = (values.get("title") or "").strip()
        return [f"title:{title.casefold()}"] if title else []

    def existing(self) -> Iterator[tuple[int, list[str]]]:
        spec = registry.get(self.imp.spec.object_type)
        rows = spec.visible(self.user).values_list("id", "title")
        for pk, title in rows.iterator(chunk_size=5000):
            yield pk, [f"title:{(title or '').strip().casefold()}"]

    def _data(self, values: dict[str, Any], refs: dict[str, Any]) -> dict[str, Any]:
        plain, _custom = split_values(values)
        data: dict[str, Any] = {}
        if plain.get("title"):
            data["title"] = plain["title"]
        for link in registry.get(self.imp.spec.object_type).links:
            if refs.get(link) is not None:
                data[link] = refs[link]
        if refs.get("owner") is not None:
            data["owner"] = refs["owner"]
        return data

    def create(self, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        from salesops.objects.services import create_record

        _plain, custom = split_values(values)
        return create_record(
            by=self.user,
            object_type=self.imp.spec.object_type,
            data=self._data(values, refs),
            custom=self.custom_input(custom),
        )

    def update(self, pk: int, values: dict[str, Any], refs: dict[str, Any]) -> Any:
        from salesops.objects.services import update_record

        _plain, custom = split_values(values)
        spec = registry.get(self.imp.spec.object_type)
        data = self._data(values, refs)
        data.pop("title", None)  # the title is what found the record: it stays
        record = spec.visible(self.user).get(pk=pk)
        return update_record(
            by=self.user, record=record, data=data, custom=self.custom_input(custom) or None
        )


HANDLERS: dict[str, type[Handler]] = {
    "lead": LeadHandler,
    "customer": CustomerHandler,
    "contact": ContactHandler,
    "deal": DealHandler,
    "followup": FollowUpHandler,
    "product": ProductHandler,
    "payment": PaymentHandler,
}


def handler_class(object_type: str) -> type[Handler]:
    """The handler of a built-in object type, or of any custom object."""
    if object_type in HANDLERS:
        return HANDLERS[object_type]
    spec = registry.find(object_type)
    if spec is not None and spec.is_custom_object:
        return CustomObjectHandler
    raise KeyError(object_type)


# -- a whole file ---------------------------------------------------------------------------


def chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while chunk := list(islice(rows, size)):
        yield chunk


#: Called inside the chunk's transaction with the report so far and the chunk's errors.
Checkpoint = Callable[[Report, list[tuple[int, Problem]]], None]


def run_import(
    table: Table,
    *,
    user: Any,
    object_type: str,
    columns: dict[str, str],
    mode: str = SKIP_ERRORS,
    dedupe: str = "skip",
    day_first: bool = False,
    dry_run: bool = False,
    limit: int | None = None,
    resume_after_line: int = 0,
    chunk_size: int = 500,
    checkpoint: Checkpoint | None = None,
    should_cancel: Callable[[], bool] | None = None,
    keep_errors: int | None = None,
) -> Report:
    """Import `table`'s rows as `user`. With `dry_run` everything is done and then
    rolled back: the report says exactly what an import would do. Messages are in the
    user's language."""
    if mode not in MODES:
        raise ValueError(mode)
    if dedupe not in DEDUPE:
        raise ValueError(dedupe)
    language = getattr(user, "language", None) or translation.get_language()
    with translation.override(language):
        importer = RowImporter(
            user=user,
            object_type=object_type,
            headers=table.headers,
            columns=columns,
            dedupe=dedupe,
            day_first=day_first,
        )
        rows: Iterator[Row] = (r for r in table.rows if r.line > resume_after_line)
        if limit is not None:
            rows = islice(rows, limit)
        report = Report(last_line=resume_after_line)
        if dry_run or mode == ALL_OR_NOTHING:
            with transaction.atomic():
                for chunk in chunks(rows, chunk_size):
                    chunk_errors = _run_chunk(importer, chunk, report, keep_errors)
                    if checkpoint is not None:
                        checkpoint(report, chunk_errors)
                    if should_cancel is not None and should_cancel():
                        report.cancelled = True
                        break
                if dry_run or report.failed or report.cancelled:
                    transaction.set_rollback(True)
                    report.rolled_back = True
            return report
        for chunk in chunks(rows, chunk_size):
            with transaction.atomic():
                chunk_errors = _run_chunk(importer, chunk, report, keep_errors)
                if checkpoint is not None:
                    checkpoint(report, chunk_errors)
            if should_cancel is not None and should_cancel():
                report.cancelled = True
                break
        return report


def _run_chunk(
    importer: RowImporter, chunk: list[Row], report: Report, keep_errors: int | None
) -> list[tuple[int, Problem]]:
    chunk_errors: list[tuple[int, Problem]] = []
    # The roll-ups the chunk's rows feed are recomputed once, at the chunk's end.
    with computed.deferred():
        _import_rows(importer, chunk, report, chunk_errors)
    room = None if keep_errors is None else max(0, keep_errors - len(report.errors))
    report.errors.extend(chunk_errors if room is None else chunk_errors[:room])
    return chunk_errors


def _import_rows(
    importer: RowImporter,
    chunk: list[Row],
    report: Report,
    chunk_errors: list[tuple[int, Problem]],
) -> None:
    for row in chunk:
        try:
            with transaction.atomic():
                outcome = importer.import_row(row)
        except RowFailed as e:
            report.failed += 1
            chunk_errors.extend((row.line, p) for p in e.problems)
        else:
            if outcome == "created":
                report.created += 1
            elif outcome == "updated":
                report.updated += 1
            else:
                report.skipped += 1
        report.processed += 1
        report.last_line = row.line
