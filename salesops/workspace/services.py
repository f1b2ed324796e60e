"""Writes on saved views (the only write path for them)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from salesops.audit import services as audit
from salesops.users.models import User
from salesops.workspace.models import SavedView

#: Query parameters never stored in a saved view (paging and one-off state).
TRANSIENT = {"after", "view", "page", "csrfmiddlewaretoken"}


@transaction.atomic
def save_view(*, by: User, list_key: str, name: str, query: str, shared: bool = False) -> SavedView:
    """Save (or overwrite the user's own view of the same name) the list's query."""
    if not by.is_authenticated or not by.is_active:
        raise PermissionDenied(_("Sign in first."))
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the view a name.")})
    if len(name) > 100:
        raise ValidationError({"name": _("Keep the name under 100 characters.")})
    if len(query) > 2000:
        raise ValidationError({"name": _("This view has too many filters to save.")})
    existing = SavedView.objects.filter(owner=by, list_key=list_key, name=name).first()
    shot = audit.snapshot(existing or SavedView(), ["query", "shared"])
    view, created = SavedView.objects.update_or_create(
        owner=by, list_key=list_key, name=name, defaults={"query": query, "shared": shared}
    )
    if created:
        changes = audit.values(view, ["list_key", "name", "query", "shared"])
        audit.record(by=by, obj=view, action=audit.Action.CREATED, changes=changes)
    else:
        audit.record(by=by, obj=view, action=audit.Action.UPDATED, changes=shot.changes(view))
    return view


@transaction.atomic
def delete_view(*, view: SavedView, by: User) -> None:
    if view.owner_id != by.pk:
        raise PermissionDenied(_("Only the person who saved a view may delete it."))
    audit.record(by=by, obj=view, action=audit.Action.DELETED)
    view.delete()
