"""The import wizard (导入向导) and the imports' history, over `salesops.imports.jobs`:

1. upload (`/imports/new/`): what to import and the file (drag and drop or choose);
   the file is read at once, so a file that is not a spreadsheet is refused on the spot;
2. mapping (`/imports/file/<token>/`): a select per column, the suggestion (or a saved
   mapping) chosen; the targets are the registry's, less the fields hidden from the
   person (`jobs.check_columns` refuses one sent anyway); the options; "Preview" does the
   first rows in a rolled-back transaction and shows the counts and the first errors;
   "Start import" makes the job and puts it on the worker;
3. the job page (`/imports/<pk>/`) with a progress bar htmx polls, cancel, the error file.

The uploaded file waits in the session (a random token names it) between steps 1 and 2.
A person sees their own imports; an administrator everyone's. Creating records needs the
role's "create" right on the object, as for `salesops import`.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesops.imports import jobs
from salesops.imports.engine import MappingProblem
from salesops.imports.fields import importable, importable_types
from salesops.imports.models import ImportJob, ImportMapping
from salesops.imports.reading import FileProblem
from salesops.lib.services import ensure_right
from salesops.users.admin_services import is_admin
from salesops.users.models import User
from salesops.web.auth import me

#: Rows the preview imports (then rolls back), and rows of the file it shows.
PREVIEW_ROWS = 500
SAMPLE_ROWS = 5
FIRST_ERRORS = 20
#: Uploaded files a session keeps waiting for their mapping.
MAX_DRAFTS = 10
DRAFTS = "import_drafts"


def choices_for(user: User) -> list[tuple[str, Any]]:
    """(object type, label) of what `user` may import: what their role may create."""
    return [(key, label) for key, label in importable_types() if user.has_right(key, "create")]


class OptionsForm(forms.Form):
    mode = forms.ChoiceField(
        label=gettext_lazy("If a row has errors"),
        choices=ImportJob.Mode.choices,
        initial=ImportJob.Mode.SKIP_ERRORS,
    )
    dedupe = forms.ChoiceField(
        label=gettext_lazy("Duplicates"),
        choices=ImportJob.Dedupe.choices,
        initial=ImportJob.Dedupe.SKIP,
    )
    day_first = forms.BooleanField(
        label=gettext_lazy("Dates are day first (03/05/2026 is 3 May)"), required=False
    )
    save_as = forms.CharField(
        label=gettext_lazy("Save this mapping as"), max_length=100, required=False
    )


# -- step 1: the file ---------------------------------------------------------------------


@login_required
def upload(request: HttpRequest) -> HttpResponse:
    user = me(request)
    choices = choices_for(user)
    if not choices:
        raise PermissionDenied(
            _("Your role does not allow you to create records, so you cannot import.")
        )
    chosen = request.POST.get("object") or request.GET.get("object") or choices[0][0]
    if request.method != "POST":
        return _upload_page(request, choices, chosen)
    if not importable(chosen):
        return _upload_page(request, choices, chosen, _("Choose what the file holds."))
    ensure_right(user, chosen, "create")
    stored, error = _store(request.FILES.get("file"))
    if error:
        return _upload_page(request, choices, chosen, error)
    drafts = request.session.get(DRAFTS, {})
    for old in list(drafts)[: max(0, len(drafts) - MAX_DRAFTS + 1)]:
        jobs.forget_upload(drafts.pop(old)["path"])
    token = uuid.uuid4().hex
    drafts[token] = {**stored, "object_type": chosen}
    request.session[DRAFTS] = drafts
    return redirect("import_mapping", token=token)


def _store(upload: Any) -> tuple[dict[str, Any], str]:
    """({path, filename}, "") of a readable file, or ({}, what is wrong)."""
    if upload is None:
        return {}, _("Choose a file first.")
    try:
        path, name = jobs.accept_upload(upload, upload.name, upload.size)
    except FileProblem as e:
        return {}, str(e)
    return {"path": path, "filename": name}, ""


def _upload_page(
    request: HttpRequest, choices: list[tuple[str, Any]], chosen: str, error: str = ""
) -> HttpResponse:
    context = {
        "title": _("Import records"),
        "choices": choices,
        "chosen": chosen,
        "error": error,
        "max_mb": jobs.MAX_UPLOAD_BYTES // (1 << 20),
    }
    return render(request, "web/imports/upload.html", context, status=400 if error else 200)


# -- step 2: the mapping, the preview, the start ---------------------------------------------


def _draft(request: HttpRequest, token: str) -> dict[str, Any]:
    draft = request.session.get(DRAFTS, {}).get(token)
    if draft is None or not os.path.exists(draft["path"]):
        raise Http404
    return dict(draft)


@login_required
def mapping(request: HttpRequest, token: str) -> HttpResponse:
    user = me(request)
    draft = _draft(request, token)
    object_type = draft["object_type"]
    ensure_right(user, object_type, "create")
    headers = jobs.headers_of(draft["path"], draft["filename"])
    context: dict[str, Any] = {"draft": draft, "headers": headers, "errors": []}
    if request.method != "POST":
        context["form"] = OptionsForm(initial=_saved_options(request, object_type))
        context["columns"] = _initial_columns(request, user, object_type, headers)
        return _mapping_page(request, user, context)
    form = OptionsForm(request.POST)
    sent = {h: request.POST.get(f"col-{i}", "") for i, h in enumerate(headers)}
    context.update(form=form, columns=sent)
    try:
        columns = jobs.check_columns(
            user=user, object_type=object_type, headers=headers, columns=sent
        )
    except ValidationError as e:
        context["errors"] = e.messages
        return _mapping_page(request, user, context, status=400)
    if not form.is_valid():
        return _mapping_page(request, user, context, status=400)
    options = form.cleaned_data
    if options["save_as"]:
        jobs.save_mapping(
            name=options["save_as"],
            object_type=object_type,
            columns=columns,
            by=user,
            options={"day_first": options["day_first"]},
        )
        messages.success(request, _("Mapping “%(name)s” saved.") % {"name": options["save_as"]})
    if request.POST.get("action") == "run":
        return _start(request, token, draft, columns, options)
    context["preview"] = _preview(user, draft, columns, options, context)
    status = 400 if context["errors"] else 200
    return _mapping_page(request, user, context, status=status)


def _saved_options(request: HttpRequest, object_type: str) -> dict[str, Any]:
    saved = _saved(request, object_type)
    return {"day_first": bool(saved.options.get("day_first"))} if saved else {}


def _saved(request: HttpRequest, object_type: str) -> ImportMapping | None:
    pk = request.GET.get("mapping", "")
    if not pk.isdigit():
        return None
    return ImportMapping.objects.filter(pk=int(pk), object_type=object_type).first()


def _initial_columns(
    request: HttpRequest, user: User, object_type: str, headers: list[str]
) -> dict[str, str]:
    """A saved mapping's columns (those the person may use and the file has), else the
    suggestion."""
    saved = _saved(request, object_type)
    if saved is None:
        return jobs.suggest(headers, object_type, user=user)
    allowed = {t["key"] for t in jobs.targets(object_type, user=user)}
    return {h: k for h, k in saved.columns.items() if h in headers and k in allowed}


def _preview(
    user: User,
    draft: dict[str, Any],
    columns: dict[str, str],
    options: dict[str, Any],
    context: dict[str, Any],
) -> jobs.Preview | None:
    try:
        return jobs.preview(
            user=user,
            object_type=draft["object_type"],
            path=draft["path"],
            filename=draft["filename"],
            columns=columns,
            dedupe=options["dedupe"],
            day_first=options["day_first"],
            limit=PREVIEW_ROWS,
            first_errors=FIRST_ERRORS,
        )
    except (MappingProblem, FileProblem) as e:
        context["errors"] = [str(e)]
        return None


def _start(
    request: HttpRequest,
    token: str,
    draft: dict[str, Any],
    columns: dict[str, str],
    options: dict[str, Any],
) -> HttpResponse:
    job = jobs.create_job(
        user=me(request),
        object_type=draft["object_type"],
        path=draft["path"],
        filename=draft["filename"],
        columns=columns,
        mode=options["mode"],
        dedupe=options["dedupe"],
        day_first=options["day_first"],
    )
    jobs.enqueue(job)
    drafts = request.session.get(DRAFTS, {})
    drafts.pop(token, None)
    request.session[DRAFTS] = drafts
    return redirect("import_job", pk=job.pk)


def _mapping_page(
    request: HttpRequest, user: User, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    draft = context["draft"]
    object_type = draft["object_type"]
    context.update(
        title=_("Import: match the columns"),
        object_label=dict(importable_types()).get(object_type, object_type),
        targets=jobs.targets(object_type, user=user),
        saved_mappings=ImportMapping.objects.filter(object_type=object_type),
        sample=jobs.sample_rows(draft["path"], draft["filename"], SAMPLE_ROWS),
        preview_rows=PREVIEW_ROWS,
    )
    context["rows"] = [
        {"index": i, "header": h, "chosen": context["columns"].get(h, "")}
        for i, h in enumerate(context["headers"])
    ]
    return render(request, "web/imports/mapping.html", context, status=status)


# -- step 3: the job ------------------------------------------------------------------------


def _job(request: HttpRequest, pk: int) -> ImportJob:
    job = jobs.visible_jobs(me(request)).filter(pk=pk).first()
    if job is None:
        raise Http404
    return job


def _job_context(job: ImportJob) -> dict[str, Any]:
    return {
        "job": job,
        "p": jobs.progress(job),
        "object_label": dict(importable_types()).get(job.object_type, job.object_type),
    }


@login_required
def job_page(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    context = {"title": _("Import of %(file)s") % {"file": job.file_name}, **_job_context(job)}
    return render(request, "web/imports/job.html", context)


@login_required
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress card alone (what the bar polls)."""
    return render(request, "web/imports/job.html#progress", _job_context(_job(request, pk)))


@login_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = jobs.request_cancel(_job(request, pk), by=me(request))
    if job.finished:
        messages.info(request, job.message or _("The import had already ended."))
    else:
        messages.info(request, _("Stopping the import after the rows being imported now."))
    return redirect("import_job", pk=job.pk)


@login_required
def job_errors(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    job = _job(request, pk)
    response = StreamingHttpResponse(
        jobs.error_csv(job, language=get_language()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """My imports (an administrator: everyone's), newest first."""
    user = me(request)
    page = Paginator(jobs.visible_jobs(user), 50).get_page(request.GET.get("page"))
    labels = dict(importable_types())
    for job in page:
        job.object_label = labels.get(job.object_type, job.object_type)  # type: ignore[attr-defined]
    context = {
        "title": _("Imports"),
        "page": page,
        "can_import": bool(choices_for(user)),
        "everyone": is_admin(user),
    }
    return render(request, "web/imports/list.html", context)
