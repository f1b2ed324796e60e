"""Base classes every main record shares: soft delete, versioning and `visible_to`.

The data-permission rule itself lives on the user (`users.User.visible_owner_ids`
and `has_right`); this module only applies it, so that every QuerySet of every main
model filters the same way. It knows the user only through that small protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable


#: Checks of a whole record run by `full_clean` of every main record once its fields
#: are valid (the organisation's validation rules: `customization.rules`, registered
#: when that app is ready). Each raises ValidationError ({field: [message]} or not
#: keyed) or returns.
record_checks: list[Callable[[Any], None]] = []


def register_record_check(check: Callable[[Any], None]) -> None:
    if check not in record_checks:
        record_checks.append(check)


def run_record_checks(obj: Any, *, exclude: Collection[str] | None = None) -> None:
    """Run every record check on `obj`; one ValidationError with all their messages.

    `exclude` (a model form's fields not on the form): a message keyed by a field the
    caller does not show, or by a custom field (`custom.<key>`), goes to the field
    `custom` or above the form instead, where a form can show it."""
    errors: dict[str, list[Any]] = {}
    for check in record_checks:
        try:
            check(obj)
        except ValidationError as e:
            errors = e.update_error_dict(errors)
    if not errors:
        return
    if exclude is not None:
        shown = {f.name for f in obj._meta.fields} - set(exclude)
        placed: dict[str, list[Any]] = {}
        for key, messages in errors.items():
            name = key.split(".", 1)[0]
            placed.setdefault(name if name in shown else NON_FIELD_ERRORS, []).extend(messages)
        errors = placed
    raise ValidationError(errors)


class Viewer(Protocol):
    """What `visible_to` needs to know about the person asking."""

    id: Any
    is_active: bool

    @property
    def is_authenticated(self) -> bool: ...

    def has_right(self, object_type: str, right: str) -> bool: ...

    def visible_owner_ids(self) -> Collection[int] | None: ...


class SoftDeleteQuerySet(models.QuerySet):
    def alive(self) -> Self:
        return self.filter(deleted_at__isnull=True)

    def deleted(self) -> Self:
        return self.filter(deleted_at__isnull=False)

    def soft_delete(self, *, by: Any = None) -> int:
        return self.filter(deleted_at__isnull=True).update(
            deleted_at=timezone.now(), deleted_by=by, version=models.F("version") + 1
        )

    def deleted_before(self, moment: Any) -> Self:
        """Rows deleted before `moment` (the recycle bin's purge)."""
        return self.filter(deleted_at__lt=moment)


class ScopedQuerySet(SoftDeleteQuerySet):
    """QuerySet of a record that has an owner and is subject to data permissions."""

    def visible_to(self, user: Viewer | None) -> Self:
        """Records `user` may see: their role's right on the object type, and the
        owners their data scope covers (plus the model's own extra rule)."""
        condition = visibility(self.model, user)
        if condition is False:
            return self.none()
        if condition is True:
            return self
        return self.filter(condition)


def visibility(model: Any, user: Viewer | None, prefix: str = "") -> Q | bool:
    """The permission rule of `model` for `user` as a condition: True (everything),
    False (nothing) or a Q. `prefix` states it from a related model, e.g. "deal__" to
    filter stage-history rows by the visibility of their deal; `visible_to` is this
    with no prefix."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if not user.has_right(model.object_type, "view"):
        return False
    owner_ids = user.visible_owner_ids()
    if owner_ids is None or model.owner_field is None:
        return True
    condition = Q(**{f"{prefix}{model.owner_field}__in": list(owner_ids)})
    extra = model.extra_visibility(user, prefix=prefix)
    if extra is not None:
        condition |= extra
    return condition


class AliveManager(models.Manager):
    """The default manager: soft-deleted rows are hidden."""

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(deleted_at__isnull=True)


class SoftDeleteModel(models.Model):
    """A main record: soft-deleted and restorable, with a version for lost-update checks."""

    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)
    #: Who moved it to the recycle bin (their own deletions are what a user sees there).
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deleted by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        editable=False,
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects: ClassVar[Any] = AliveManager.from_queryset(SoftDeleteQuerySet)()
    all_objects: ClassVar[Any] = models.Manager.from_queryset(SoftDeleteQuerySet)()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    def full_clean(
        self,
        exclude: Iterable[str] | None = None,
        validate_unique: bool = True,
        validate_constraints: bool = True,
    ) -> None:
        """Django's checks, then, when the fields are valid, the record checks (the
        organisation's validation rules): every service's `full_clean` and the Django
        admin's forms refuse what a rule refuses."""
        super().full_clean(
            exclude=exclude,
            validate_unique=validate_unique,
            validate_constraints=validate_constraints,
        )
        run_record_checks(self, exclude=None if exclude is None else set(exclude))

    def soft_delete(self, *, by: Any = None) -> None:
        self.deleted_at = timezone.now()
        self.deleted_by = by
        self.version += 1
        self.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])

    def restore(self) -> None:
        self.deleted_at = None
        self.deleted_by = None
        self.version += 1
        self.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class OwnedModel(SoftDeleteModel):
    """A main record with an owner, custom-field values and data permissions."""

    #: The object type in roles' rights and custom-field definitions.
    object_type: ClassVar[str] = ""
    #: The field whose user the data scope is checked against.
    owner_field: ClassVar[str | None] = "owner"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    objects: ClassVar[Any] = AliveManager.from_queryset(ScopedQuerySet)()
    all_objects: ClassVar[Any] = models.Manager.from_queryset(ScopedQuerySet)()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    @classmethod
    def extra_visibility(cls, user: Viewer, prefix: str = "") -> Q | None:
        """Rows visible beyond the owner rule (e.g. the public pool). None: no extra.
        `prefix` is the path from the queried model (see `visibility`)."""
        return None
