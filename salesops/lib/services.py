"""The checks every write service starts with, and soft delete / restore.

`ensure_can` is how a service refuses a user: `NotVisible` when the record is outside
the user's data scope (interfaces answer 404, so nothing leaks about its existence),
`PermissionDenied` when it is visible but the role lacks the right.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _

from salesops.lib.models import Viewer


class NotVisible(ObjectDoesNotExist):
    """The record does not exist for this user (outside their data scope, or deleted)."""


def ensure_right(user: Viewer | None, object_type: str, right: str) -> None:
    if user is None or not user.is_authenticated or not user.is_active:
        raise PermissionDenied(_("Sign in first."))
    if not user.has_right(object_type, right):
        raise PermissionDenied(
            _("Your role does not allow you to %(right)s this kind of record.")
            % {"right": RIGHT_VERBS.get(right, right)}
        )


def may_export(user: Viewer | None, object_type: str) -> bool:
    """Whether `user` may take `object_type` records out of the app as a file or a bulk
    read: the one answer every export asks (lists, reports, drill-downs, the command,
    the API's export), and what decides whether an export control is shown."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.has_right(object_type, "export")
    )


def ensure_export(user: Viewer | None, object_type: str) -> None:
    """Refuse (PermissionDenied, 403) an export `may_export` does not allow."""
    ensure_right(user, object_type, "export")


def ensure_can(user: Viewer | None, obj: models.Model, right: str) -> None:
    """Raise unless `user` may see `obj` and has `right` on its object type."""
    model: Any = type(obj)
    if user is None or not user.is_authenticated or not user.is_active:
        raise PermissionDenied(_("Sign in first."))
    manager = model.all_objects if right == "restore" else model.objects
    if not manager.visible_to(user).filter(pk=obj.pk).exists():
        raise NotVisible(_("This record does not exist or you may not see it."))
    # A custom object's records share one model; each object type has its own rights.
    object_type = getattr(obj, "rights_type", None) or model.object_type
    ensure_right(user, object_type, "delete" if right == "restore" else right)


RIGHT_VERBS = {
    "view": _("view"),
    "create": _("create"),
    "edit": _("edit"),
    "delete": _("delete"),
    "export": _("export"),
}
