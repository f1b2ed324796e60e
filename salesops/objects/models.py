"""Custom objects (自定义对象, the 简道云 form): object types an administrator defines in
the app — a site visit, a competitor, a service ticket — with their own fields and
links to customers, contacts or deals.

Every custom object's records live in one table the product manages
(`CustomRecord`): the record's title, owner, links and timestamps are columns; its
fields are values in the `custom` JSON column, indexed per field by expression indexes
created at run time (see `indexes.py` and decision 0013). Nothing here needs a
migration when an administrator adds an object or a field.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from salesops.lib.models import AliveManager, OwnedModel, ScopedQuerySet, Viewer

#: Object types a custom object's records may link to.
LINKABLE = ("customer", "contact", "deal")


class CustomObject(models.Model):
    """The definition of one custom object type."""

    key = models.SlugField(
        _("key"),
        max_length=40,
        unique=True,
        help_text=_("Lower-case letters, digits and underscores; the name in the API."),
    )
    label = models.CharField(_("name"), max_length=100)
    plural = models.CharField(_("plural name"), max_length=100)
    title_label = models.CharField(
        _("title field's name"),
        max_length=100,
        help_text=_("What each record's title is called, e.g. Subject or Name."),
    )
    #: The object types its records may link to (a subset of LINKABLE).
    links = models.JSONField(_("links"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["order", "key"]
        verbose_name = _("custom object")
        verbose_name_plural = _("custom objects")
        constraints = [
            models.CheckConstraint(
                condition=Q(key__regex=r"^[a-z][a-z0-9_]*$"), name="custom_object_key_format"
            )
        ]

    def __str__(self) -> str:
        return self.label


class CustomRecordQuerySet(ScopedQuerySet):
    def visible_to(self, user: Viewer | None) -> Self:
        """Records of the custom objects the user's role may view, owned by someone in
        their data scope. (Each object type has its own rights, so the right is checked
        per object; `ObjectSpec.visible` narrows to one object.)"""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        from salesops.customization import registry

        # The active objects as the registry knows them (cached): no query per use, so a
        # page showing several objects' records costs one query per object.
        kinds = [
            spec.custom_object_id
            for spec in registry.dynamic().values()
            if user.has_right(spec.rights_type, "view")
        ]
        if not kinds:
            return self.none()
        condition = Q(kind_id__in=kinds)
        owner_ids = user.visible_owner_ids()
        if owner_ids is not None:
            condition &= Q(owner_id__in=list(owner_ids))
        return self.filter(condition)


class CustomRecord(OwnedModel):
    """One record of a custom object."""

    object_type: ClassVar[str] = "custom_record"
    #: Records of every custom object share this model: their object type is their
    #: custom object's key (`registry.type_of`).
    is_custom_record: ClassVar[bool] = True

    kind = models.ForeignKey(
        CustomObject, verbose_name=_("object"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="custom_records",
        db_index=False,  # first column of an index below
    )
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="custom_records",
        db_index=False,
    )
    deal = models.ForeignKey(
        "crm.Deal",
        verbose_name=_("deal"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="custom_records",
        db_index=False,
    )

    objects: ClassVar[Any] = AliveManager.from_queryset(CustomRecordQuerySet)()
    all_objects: ClassVar[Any] = models.Manager.from_queryset(CustomRecordQuerySet)()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("custom record")
        verbose_name_plural = _("custom records")
        base_manager_name = "all_objects"
        indexes = [
            models.Index(fields=["kind", "id"], name="custrec_kind_id"),
            models.Index(fields=["kind", "owner", "id"], name="custrec_kind_owner_id"),
            models.Index(fields=["kind", "title", "id"], name="custrec_kind_title_id"),
            models.Index(fields=["kind", "created_at", "id"], name="custrec_kind_created_id"),
            models.Index(fields=["customer", "kind", "id"], name="custrec_customer"),
            models.Index(fields=["contact", "kind", "id"], name="custrec_contact"),
            models.Index(fields=["deal", "kind", "id"], name="custrec_deal"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def rights_type(self) -> str:
        """The object type in roles' rights: the custom object's key."""
        return self.kind.key
