"""Leads, customers (accounts), contacts and the public pool (公海)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.lib import dedup
from salesops.lib.models import OwnedModel

#: How each kind of duplicate key is computed from the field it is read from.
KEY_FUNCTIONS = {
    "company": dedup.company_key,
    "phone": dedup.stored_phone_key,
    "email": dedup.email_key,
}


def _key_field(label: Any) -> models.CharField:
    # NULL: not computed yet (a row written by a bulk path that bypasses save());
    # the duplicate finder fills those in before it groups.
    return models.CharField(label, max_length=254, null=True, blank=True, editable=False)


class Mergeable(models.Model):
    """A record that can be merged into another of its kind (leads, customers, contacts)
    and found as a likely duplicate by the normalised keys stored beside it.

    The keys are computed by `save()` from their fields with the one de-duplication rule
    (`lib.dedup`), so every write path that saves keeps them; the bulk writers (the
    contacts import's COPY path, the demo loader) add them with `key_columns`. Rows
    written any other way have NULL keys until `crm.duplicates.fill_keys` computes them."""

    #: {key column: (field it is read from, kind of key)}.
    dedup_sources: ClassVar[dict[str, tuple[str, str]]] = {}

    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        fields = kwargs.get("update_fields")
        changed = self.compute_keys(None if fields is None else set(fields))
        if fields is not None and changed:
            kwargs["update_fields"] = {*fields, *changed}
        super().save(*args, **kwargs)

    @classmethod
    def key_columns(cls, sources: Mapping[str, Sequence[Any]], n: int) -> dict[str, list[str]]:
        """The key columns of `n` rows written in bulk, from their source fields' columns
        (`sources`: field -> one value per row; a source not given is empty)."""
        out: dict[str, list[str]] = {}
        for column, (source, kind) in cls.dedup_sources.items():
            fn = KEY_FUNCTIONS[kind]
            values = sources.get(source)
            if values is None:
                out[column] = [fn("")] * n
            else:
                empty = fn("")
                out[column] = [fn(v) if v else empty for v in values]
        return out

    def compute_keys(self, fields: Any = None) -> list[str]:
        """Set the key columns whose source is among `fields` (None: all); returns them."""
        changed = []
        for column, (source, kind) in self.dedup_sources.items():
            if fields is None or source in fields:
                setattr(self, column, KEY_FUNCTIONS[kind](getattr(self, source) or ""))
                changed.append(column)
        return changed


def _key_indexes(prefix: str, columns: Any) -> list[models.Index]:
    """Per key column: the non-empty keys of live rows with their owner, which the
    duplicate finder groups by (an index-only scan, for a scope too)."""
    return [
        models.Index(
            fields=[column, "owner"],
            name=f"{prefix}_{column}",
            condition=Q(deleted_at__isnull=True, **{f"{column}__gt": ""}),
        )
        for column in columns
    ]


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Lead(OwnedModel, Mergeable):
    object_type: ClassVar[str] = "lead"
    dedup_sources: ClassVar[dict[str, tuple[str, str]]] = {
        "dup_name": ("company", "company"),
        "dup_phone": ("phone", "phone"),
        "dup_email": ("email", "email"),
    }

    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        UNQUALIFIED = "unqualified", _("Unqualified")
        CONVERTED = "converted", _("Converted")

    name = models.CharField(_("contact name"), max_length=200)
    company = models.CharField(_("company"), max_length=200, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW
    )
    notes = models.TextField(_("notes"), blank=True)
    created_on = models.DateField(_("created on"), editable=False, null=True)
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True, editable=False)
    converted_customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("converted to customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    converted_contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("converted to contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    converted_deal = models.ForeignKey(
        "crm.Deal",
        verbose_name=_("converted to deal"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    dup_name = _key_field(_("company key"))
    dup_phone = _key_field(_("phone key"))
    dup_email = _key_field(_("e-mail key"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(
                fields=["created_on", "status"],
                name="lead_created_status",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["owner", "status"],
                name="lead_owner_status",
                condition=Q(deleted_at__isnull=True),
            ),
            # One person's leads newest first (lists, search).
            models.Index(
                fields=["owner", "id"], name="lead_owner_id", condition=Q(deleted_at__isnull=True)
            ),
            # The list sorted by name, for those who see everyone's leads.
            models.Index(
                fields=["name", "id"], name="lead_name_id", condition=Q(deleted_at__isnull=True)
            ),
            models.Index(
                fields=["company", "id"],
                name="lead_company_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["status", "id"], name="lead_status_id", condition=Q(deleted_at__isnull=True)
            ),
            *_key_indexes("lead", ["dup_name", "dup_phone", "dup_email"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="converted") | Q(converted_at__isnull=False),
                name="lead_converted_has_time",
            )
        ]

    def __str__(self) -> str:
        # The name alone: a record's name is shown wherever it is referred to, and the
        # company may be a field the reader's role hides.
        return self.name


class Customer(OwnedModel, Mergeable):
    """A customer company (account). No owner means it is in the public pool (公海)."""

    object_type: ClassVar[str] = "customer"
    dedup_sources: ClassVar[dict[str, tuple[str, str]]] = {
        "dup_name": ("name", "company"),
        "dup_phone": ("phone", "phone"),
        "dup_email": ("email", "email"),
    }

    class Size(models.TextChoices):
        MICRO = "micro", _("1–9 employees")
        SMALL = "small", _("10–99 employees")
        MEDIUM = "medium", _("100–999 employees")
        LARGE = "large", _("1000+ employees")

    class Lifecycle(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        CUSTOMER = "customer", _("Customer")
        REPEAT = "repeat", _("Repeat customer")
        CHURNED = "churned", _("Churned")

    name = models.CharField(_("name"), max_length=200)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    price_list = models.ForeignKey(
        "crm.PriceList",
        verbose_name=_("price list"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Quotes and deals for this customer take unit prices from it."),
    )
    size = models.CharField(_("size"), max_length=10, choices=Size.choices, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=20, choices=Lifecycle.choices, default=Lifecycle.PROSPECT
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    source_lead = models.ForeignKey(
        Lead,
        verbose_name=_("from lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    last_followup_at = models.DateTimeField(_("last follow-up at"), null=True, blank=True)
    last_won_on = models.DateField(_("last deal won on"), null=True, blank=True)
    owned_since = models.DateTimeField(_("owned since"), null=True, blank=True)
    pool_entered_at = models.DateTimeField(_("in the pool since"), null=True, blank=True)
    dup_name = _key_field(_("name key"))
    dup_phone = _key_field(_("phone key"))
    dup_email = _key_field(_("e-mail key"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(
                fields=["owner", "last_followup_at"],
                name="customer_owner_followup",
                condition=Q(deleted_at__isnull=True),
            ),
            # The list sorted by name (the id keeps the keyset order).
            models.Index(
                fields=["name", "id"],
                name="customer_name_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["last_followup_at", "id"],
                name="customer_followup_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["created_at", "id"],
                name="customer_created_id",
                condition=Q(deleted_at__isnull=True),
            ),
            # One person's customers newest first (lists, search).
            models.Index(
                fields=["owner", "id"],
                name="customer_owner_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["pool_entered_at"],
                name="customer_pool",
                condition=Q(deleted_at__isnull=True, owner__isnull=True),
            ),
            # The pool sorted by last follow-up: pooled customers are those without
            # recent follow-ups, so the organisation-wide index was read almost whole.
            models.Index(
                fields=["last_followup_at", "id"],
                name="customer_pool_followup_id",
                condition=Q(deleted_at__isnull=True, owner__isnull=True),
            ),
            *_key_indexes("customer", ["dup_name", "dup_phone", "dup_email"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=True) | Q(pool_entered_at__isnull=True),
                name="customer_owned_or_pooled",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def in_pool(self) -> bool:
        return self.owner_id is None

    @classmethod
    def extra_visibility(cls, user: Any, prefix: str = "") -> Q | None:
        """The public pool is visible to everyone who may view customers."""
        return Q(**{f"{prefix}owner__isnull": True})


class Contact(OwnedModel, Mergeable):
    object_type: ClassVar[str] = "contact"
    dedup_sources: ClassVar[dict[str, tuple[str, str]]] = {
        "dup_phone": ("phone", "phone"),
        "dup_mobile": ("mobile", "phone"),
        "dup_email": ("email", "email"),
    }

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=200)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    wechat = models.CharField(_("WeChat"), max_length=60, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    dup_phone = _key_field(_("phone key"))
    dup_mobile = _key_field(_("mobile key"))
    dup_email = _key_field(_("e-mail key"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            # (The customer's contacts use the foreign key's own index.)
            # One person's contacts newest first (lists, search).
            models.Index(
                fields=["owner", "id"],
                name="contact_owner_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["email"], name="contact_email"),
            models.Index(fields=["mobile"], name="contact_mobile"),
            # The list sorted by name, for those who see everyone's contacts.
            models.Index(
                fields=["name", "id"],
                name="contact_name_id",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["created_at", "id"],
                name="contact_created_id",
                condition=Q(deleted_at__isnull=True),
            ),
            *_key_indexes("contact", ["dup_phone", "dup_mobile", "dup_email"]),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def extra_visibility(cls, user: Any, prefix: str = "") -> Q | None:
        """Contacts of public-pool customers (no owner) are visible with their customer."""
        return Q(**{f"{prefix}owner__isnull": True})


class PoolRule(models.Model):
    """Rules of the public pool, for one team (and its sub-teams) or, with no team, for all."""

    name = models.CharField(_("name"), max_length=100)
    team = models.OneToOneField(
        "users.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="pool_rule",
        help_text=_("Leave empty for the organisation-wide rule."),
    )
    reclaim_after_days_without_followup = models.PositiveIntegerField(
        _("return to the pool after N days without a follow-up"), null=True, blank=True
    )
    reclaim_after_days_without_won_deal = models.PositiveIntegerField(
        _("return to the pool after N days owned without a won deal"), null=True, blank=True
    )
    max_customers_per_rep = models.PositiveIntegerField(
        _("most customers one rep may hold"), null=True, blank=True
    )
    reclaim_block_days = models.PositiveIntegerField(
        _("days before a rep may claim back a customer they released"), default=0
    )
    warning_days = models.PositiveIntegerField(
        _("warn this many days before a customer returns to the pool"), default=3
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("public pool rule")
        verbose_name_plural = _("public pool rules")
        constraints = [
            models.UniqueConstraint(
                fields=["active"],
                condition=Q(team__isnull=True, active=True),
                name="one_default_pool_rule",
            )
        ]

    def __str__(self) -> str:
        return self.name


class PoolEvent(models.Model):
    """A customer entering or leaving an owner: the pool's own history."""

    class Kind(models.TextChoices):
        CLAIMED = "claimed", _("Claimed")
        RELEASED = "released", _("Released")
        RECLAIMED = "reclaimed", _("Returned to the pool automatically")
        ASSIGNED = "assigned", _("Assigned")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="pool_events"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("rep"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("pool event")
        verbose_name_plural = _("pool events")
        indexes = [
            models.Index(fields=["customer", "user", "kind", "at"], name="pool_event_lookup")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind}"
