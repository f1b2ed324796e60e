"""A record's timeline: follow-ups, tasks, stage changes, pool events and the audit
log's edits in one list, newest first, a page at a time ("Older" asks for what came
before the last line shown); and inline edits of the follow-ups and tasks on it.

Inline edits go through the same update services as the full forms, with the version
the reader saw: a stale version shows "someone else saved…" with the fresh values; bad
input comes back next to its field. A follow-up or task outside the reader's scope is a
404; one they may see but not change is a 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesops.activities import queries as activity_queries
from salesops.activities import services as activities
from salesops.activities import update_services
from salesops.activities.models import FollowUp, Task
from salesops.audit.models import AuditEntry
from salesops.customization import policy
from salesops.customization.registry import FieldSpec
from salesops.lib.services import NotVisible
from salesops.lib.updates import Conflict
from salesops.web.audit_display import describe
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, RecordForm, initial_of, show_error
from salesops.web.views.records import Masked

#: Lines per page of a timeline.
PAGE = 30

#: Audit actions another line of the timeline already shows: a customer's pool events
#: (claim, release, hand-over, reclaim) and a deal's stage history (won, lost, reopened).
SHOWN_ELSEWHERE = {
    "customer": ["claimed", "released", "reclaimed", "owner_changed"],
    "deal": ["won", "lost", "reopened"],
}

#: Whether the inline form's update service takes custom values.
CUSTOM_INLINE = {"followup": True, "task": False}


def inline_specs(user: Any, object_type: str) -> list[FieldSpec]:
    """The fields of a follow-up or task that `user` may change on a timeline line: the
    registry's editable fields the field policy lets them see and a general update sets
    (custom ones where the update service takes them)."""
    from salesops.crm.services import writable

    allowed = writable(user, object_type)
    return [
        f
        for f in policy.editable_fields(user, object_type)
        if (CUSTOM_INLINE[object_type] if f.is_custom else f.key in allowed)
    ]


#: The field each kind of line takes its time from.
TIME_FIELDS = {"followup": "occurred_at", "task": "created_at", "task_done": "done_at"}


def masked_entry(user: Any, e: activity_queries.Entry) -> activity_queries.Entry:
    """A follow-up or task line with the fields hidden from `user` blanked (its time
    too, when the field it comes from is hidden)."""
    if e.kind in ("followup", "task", "task_done"):
        object_type = "followup" if e.kind == "followup" else "task"
        hidden = policy.hidden_keys(user, object_type)
        e.obj = Masked(e.obj, hidden)
        e.time_hidden = TIME_FIELDS[e.kind] in hidden
    return e


def _moment_of(user: Any, kind: str, pk: int) -> dt.datetime | None:
    """The time of timeline line (kind, pk), read afresh within the user's scope."""
    from salesops.crm.models import PoolEvent, StageHistory

    sources: dict[str, tuple[Any, str]] = {
        "followup": (FollowUp.objects.visible_to(user), "occurred_at"),
        "task": (Task.objects.visible_to(user), "created_at"),
        "task_done": (Task.objects.visible_to(user), "done_at"),
        "stage": (StageHistory.objects.all(), "entered_at"),
        "pool": (PoolEvent.objects.all(), "at"),
        "audit": (AuditEntry.objects.all(), "at"),
    }
    if kind not in sources:
        return None
    qs, field = sources[kind]
    return qs.filter(pk=pk).values_list(field, flat=True).first()


def parse_before(raw: str | None, user: Any = None) -> activity_queries.Cursor | None:
    """The `before` cursor of a timeline page: "<kind>~<id>" as `cursor_text` writes
    it (the time is read from that line's record, so the link never carries the value
    of a field the reader's role hides), or a bare moment (everything strictly
    earlier); ValueError otherwise."""
    if not raw:
        return None
    first, _sep, rest = raw.partition("~")
    if first.replace("_", "").isalpha() and rest.isdigit():
        moment_of = _moment_of(user, first, int(rest))
        if moment_of is None:
            raise ValueError(raw)
        return (moment_of, first, int(rest))
    moment = parse_datetime(first)
    if moment is None or rest:
        raise ValueError(raw)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return (moment, "", 0)  # sorts before every entry at that moment


def cursor_text(cursor: activity_queries.Cursor) -> str:
    _moment, kind, pk = cursor
    return f"{kind}~{pk}"


def record_timeline(
    user: Any,
    obj: Any,
    link: str,
    *,
    before: activity_queries.Cursor | None = None,
    limit: int = PAGE,
) -> tuple[list[activity_queries.Entry], str | None]:
    """One page of the record's timeline and the cursor of the next (None: no more).
    A constant number of queries: one per source, whatever the number of lines."""
    entries = activity_queries.timeline(user, **{link: obj}, before=before, limit=limit + 1)
    edits = AuditEntry.objects.of(obj).exclude(action__in=SHOWN_ELSEWHERE.get(link, []))
    fetch = limit + 1
    if before is not None:
        edits = edits.filter(at__lte=before[0])
        fetch = 2 * (limit + 1)  # entries tied with `before` drop out below
    audit = [activity_queries.Entry("audit", e.at, e) for e in edits.order_by("-at", "-id")[:fetch]]
    if before is not None:
        audit = [e for e in audit if e.key < before]
    entries += audit
    entries.sort(key=lambda e: e.key, reverse=True)
    page, more = entries[:limit], len(entries) > limit
    older = cursor_text(page[-1].key) if more and page else None
    for e in page:
        if e.kind == "audit":
            e.obj = describe(e.obj, user)
        else:
            masked_entry(user, e)
    return page, older


def flags(user: Any) -> dict[str, bool]:
    """What the timeline offers the reader (the services decide in the end)."""
    return {
        "can_edit_followups": user.has_right("followup", "edit"),
        "can_edit_tasks": user.has_right("task", "edit"),
    }


def timeline_context(
    user: Any, obj: Any, link: str, *, before: activity_queries.Cursor | None = None
) -> dict[str, Any]:
    page, older = record_timeline(user, obj, link, before=before)
    return {"timeline": page, "timeline_older": older, **flags(user)}


# -- inline edits ---------------------------------------------------------------------------


def _get(model: Any, request: HttpRequest, pk: int) -> Any:
    return get_object_or_404(model.objects.visible_to(me(request)).select_related("owner"), pk=pk)


def _version(request: HttpRequest) -> int:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else -1


def _entry(obj: Any) -> activity_queries.Entry:
    if isinstance(obj, FollowUp):
        return activity_queries.Entry("followup", obj.occurred_at, obj, obj.owner)
    return activity_queries.Entry("task", obj.created_at, obj, obj.owner)


def _show(request: HttpRequest, obj: Any, *, saved: bool = False) -> HttpResponse:
    return render(
        request,
        "web/timeline.html#entry",
        {"e": masked_entry(me(request), _entry(obj)), "saved": saved, **flags(me(request))},
    )


def _form(user: Any, obj: Any, data: Any = None) -> RecordForm:
    object_type = obj.object_type
    specs = inline_specs(user, object_type)
    prefix = f"fu{obj.pk}" if object_type == "followup" else f"task{obj.pk}"
    return RecordForm(data, specs=specs, user=user, initial=initial_of(obj, specs), prefix=prefix)


def _edit(
    request: HttpRequest, obj: Any, form: RecordForm, version: int, conflict: str = ""
) -> HttpResponse:
    return render(
        request,
        "web/timeline_edit.html",
        {
            "e": masked_entry(me(request), _entry(obj)),
            "form": form,
            "version": version,
            "conflict": conflict,
        },
    )


def _changed(obj: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Only what the person changed: a time shown to the minute and sent back unchanged
    keeps its seconds (and writes no edit)."""
    out = {}
    for name, value in data.items():
        old = getattr(obj, name)
        if isinstance(old, dt.datetime) and isinstance(value, dt.datetime):
            if old.replace(second=0, microsecond=0) == value.replace(second=0, microsecond=0):
                continue
        elif old == value:
            continue
        out[name] = value
    return out


def _save(obj: Any, by: Any, form: RecordForm, version: int) -> Any:
    data = _changed(obj, form.values())
    if isinstance(obj, FollowUp):
        return update_services.update_followup(
            followup=obj, by=by, data=data, custom=form.custom(), version=version
        )
    return update_services.update_task(task=obj, by=by, data=data, version=version)


def _inline(request: HttpRequest, model: Any, pk: int) -> HttpResponse:
    obj = _get(model, request, pk)
    user = me(request)
    if not user.has_right(model.object_type, "edit"):
        raise PermissionDenied(_("Your role does not allow you to change this."))
    if request.method == "GET":
        if request.GET.get("cancel"):
            return _show(request, obj)
        return _edit(request, obj, _form(user, obj), obj.version)
    form = _form(user, obj, request.POST)
    version = _version(request)
    if form.is_valid():
        try:
            saved = _save(obj, user, form, version)
        except NotVisible:
            raise Http404 from None
        except PermissionDenied:
            raise
        except Conflict as e:
            # Someone saved in between: their values, and the message saying so.
            fresh = _get(model, request, pk)
            return _edit(request, fresh, _form(user, fresh), fresh.version, conflict=str(e.message))
        except REFUSALS as e:
            show_error(form, e)
        else:
            return _show(request, saved, saved=True)
    return _edit(request, obj, form, version)


@login_required
def followup_inline(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the follow-up's line as a form (`?cancel=1`: as a line); POST: save it."""
    return _inline(request, FollowUp, pk)


@login_required
def task_inline(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the task's line as a form (`?cancel=1`: as a line); POST: save it."""
    return _inline(request, Task, pk)


@login_required
@require_POST
def task_inline_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the task done (or open again) from its timeline line."""
    task = _get(Task, request, pk)
    try:
        task = activities.complete_task(task=task, by=me(request), done=task.done_at is None)
    except NotVisible:
        raise Http404 from None
    return _show(request, _get(Task, request, task.pk), saved=True)


def bad_cursor() -> HttpResponse:
    return HttpResponseBadRequest(_("The “before” value is not a date and time."))
