"""Exports from the pages: every list to CSV or XLSX (`?export=csv|xlsx` on the list's
own address, so the file holds exactly the rows, order and columns the list shows),
the page of one's exports made on the worker, and the organisation's backup and restore
in the settings.

A list export runs the list's own query (`RecordList.parse` and `filtered`: its
filters, search, sort, chosen columns, data scope and field policy) and pages through it
in the list's own order (`page_of`), so what the file holds is what the list shows.
Up to EXPORT_DIRECT_ROWS rows are written in the request; more run on the worker, and
the person downloads the file from "My exports". Every export asks
`lib.services.ensure_export` first.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from salesops.imports import export_jobs
from salesops.imports.exporting import FORMATS, plain, write_file
from salesops.imports.models import ExportJob
from salesops.imports.orgdump import DumpError, describe, restore_org
from salesops.lib.services import NotVisible, ensure_export
from salesops.org.models import Organisation
from salesops.users import admin_services as admin
from salesops.web.auth import me
from salesops.web.listing import Query, load_references, page_of
from salesops.web.views.listview import RecordList

#: Rows read per page of an export (each page is decorated and its references loaded).
CHUNK = 1000
#: Query parameters that are not part of what a list shows.
NOT_QUERY = {"export", "after", "view", "page", "csrfmiddlewaretoken"}


# -- list exports ----------------------------------------------------------------------------


def list_table(view: RecordList, query: Query) -> tuple[list[str], Iterator[list[Any]]]:
    """(headers, rows) of the list as `view` shows it for `query`: its chosen columns
    (only fields the reader may see), every matching row in the list's order, choices by
    their labels and references by their names."""
    qs = view.filtered(query)
    columns = query.columns
    column = view.sorts().get(query.sort)
    expression = column.expression if column is not None else None
    few = view.narrow(query)
    tz = Organisation.get().tz
    headers = [str(c.label) for c in columns]

    def rows() -> Iterator[list[Any]]:
        cursor: str | None = None
        while True:
            page, cursor = page_of(
                qs,
                sort=query.sort,
                descending=query.descending,
                cursor=cursor,
                size=CHUNK,
                few=few,
                expression=expression,
            )
            view.decorate(page)
            load_references(page, columns)
            for obj in page:
                yield [plain(c.raw(obj), tz) for c in columns]
            if cursor is None:
                return

    return headers, rows()


def export_query(request: HttpRequest) -> str:
    """The list's query string without what is not part of what it shows."""
    params = request.GET.copy()
    for name in NOT_QUERY:
        params.pop(name, None)
    return params.urlencode()


def file_name(view: RecordList, fmt: str) -> str:
    key = re.sub(r"[^a-z0-9_-]+", "-", view.key.lower())
    return f"{key}-{timezone.localdate().isoformat()}.{fmt}"


def export_list(view: RecordList, request: HttpRequest, fmt: str) -> HttpResponseBase:
    """The list's export: the file itself, or (over EXPORT_DIRECT_ROWS rows) a job on
    the worker and a way to "My exports"."""
    if fmt not in FORMATS:
        raise Http404
    user = me(request)
    ensure_export(user, view.object_type)
    query = view.parse()
    limit = settings.EXPORT_DIRECT_ROWS
    count = view.filtered(query).order_by().values("pk")[: limit + 1].count()
    if count > limit:
        export_jobs.start(
            user=user,
            kind=ExportJob.Kind.LIST,
            title=str(view.title),
            file_name=file_name(view, fmt),
            fmt=fmt,
            params={"list": view.key, "query": export_query(request)},
        )
        messages.success(
            request,
            _(
                "This list has more than %(n)s rows, so its file is being made in the "
                "background. Download it from “My exports” when it is ready."
            )
            % {"n": f"{limit:,}"},
        )
        return HttpResponseRedirect(reverse("export_jobs"))
    headers, rows = list_table(view, query)
    out = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 (FileResponse closes it)
    write_file(fmt, headers, rows, out)
    out.seek(0)
    response = FileResponse(
        out, as_attachment=True, filename=file_name(view, fmt), content_type=FORMATS[fmt]
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def list_classes() -> dict[str, type[RecordList]]:
    from salesops.web.views.lists import LISTS

    return {cls.key: cls for cls in LISTS}


def list_view_for(key: str, user: Any, query: str) -> RecordList:
    """The list `key` ("customers", "o.site_visit") as `user` would open it with
    `query`: the same object a page request makes, for the worker."""
    from salesops.web.views import objects

    if key.startswith("o."):
        spec = objects.spec_or_404(key.removeprefix("o."))
        cls: type[RecordList] = objects.list_class(spec)
    else:
        cls = list_classes()[key]
    request = HttpRequest()
    request.method = "GET"
    request.user = user
    request.GET = QueryDict(query)
    view = cls()
    view.setup(request)
    return view


def write_list(job: ExportJob, out: IO[bytes]) -> int:
    """An export job's list, written on the worker: the checks and the query of the
    page, as its owner, now (a right taken away since is honoured)."""
    user = job.created_by
    try:
        view = list_view_for(job.params["list"], user, job.params.get("query", ""))
    except (KeyError, Http404) as e:
        raise PermissionDenied(_("This list no longer exists.")) from e
    if not user.has_right(view.object_type, "view"):
        raise PermissionDenied(_("Your role does not allow you to see these records."))
    ensure_export(user, view.object_type)
    headers, rows = list_table(view, view.parse())
    return write_file(job.format, headers, rows, out)


def register_producer() -> None:
    export_jobs.register(ExportJob.Kind.LIST, write_list)


# -- my exports ------------------------------------------------------------------------------


@login_required
def export_job_list(request: HttpRequest) -> HttpResponse:
    """The signed-in person's exports made on the worker, with their download links."""
    jobs = list(export_jobs.jobs_of(me(request))[:100])
    running = any(not j.finished for j in jobs)
    return render(
        request,
        "web/exports/jobs.html",
        {
            "title": _("My exports"),
            "jobs": jobs,
            "running": running,
            "keep_days": ngettext(
                "Files are kept for %(n)s day.",
                "Files are kept for %(n)s days.",
                settings.EXPORT_KEEP_DAYS,
            )
            % {"n": settings.EXPORT_KEEP_DAYS},
        },
    )


@login_required
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    """The file of one of the reader's own finished exports (404 for anyone else's)."""
    try:
        job, path = export_jobs.file_for(pk, me(request))
    except NotVisible as e:
        raise Http404(str(e)) from e
    content_type = FORMATS.get(job.format, "application/zip")
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=job.file_name, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# -- backup and restore ------------------------------------------------------------------------

UPLOAD = re.compile(r"[0-9a-f]{32}\.zip")
SESSION_KEY = "restore_upload"


def _require_admin(request: HttpRequest) -> None:
    if not admin.is_admin(me(request)):
        raise PermissionDenied(_("Only an organisation administrator may back up or restore."))


def _upload_path(name: str) -> Path:
    return export_jobs.files_dir() / f"restore-{name}"


def _page(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    user = me(request)
    backups = export_jobs.jobs_of(user).filter(kind=ExportJob.Kind.BACKUP)[:10]
    return render(
        request,
        "web/exports/backup.html",
        {"title": _("Backup and restore"), "backups": backups, **extra},
        status=status,
    )


@login_required
def backup(request: HttpRequest) -> HttpResponse:
    """Settings ▸ Backup and restore: make a backup (on the worker), or upload one,
    see what it holds, and confirm that it replaces everything."""
    _require_admin(request)
    if request.method != "POST":
        return _page(request)
    action = request.POST.get("action", "")
    if action == "backup":
        export_jobs.start_backup(user=me(request))
        messages.success(
            request,
            _("The backup is being made in the background; download it below when it is ready."),
        )
        return HttpResponseRedirect(reverse("settings_backup"))
    if action == "upload":
        return _upload(request)
    if action == "restore":
        return _restore(request)
    raise Http404


def _upload(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        return _page(request, 400, error=_("Choose the backup file (.zip) to restore."))
    name = f"{uuid.uuid4().hex}.zip"
    path = _upload_path(name)
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        with path.open("rb") as f:
            about = describe(f)
    except DumpError as e:
        path.unlink(missing_ok=True)
        return _page(request, 400, error=str(e))
    request.session[SESSION_KEY] = name
    return _page(
        request,
        about=about,
        upload=name,
        upload_name=upload.name,
        organisation=Organisation.get().name,
    )


def _restore(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("upload", "")
    if not UPLOAD.fullmatch(name) or request.session.get(SESSION_KEY) != name:
        return _page(request, 400, error=_("Upload the backup again, then confirm."))
    path = _upload_path(name)
    if not path.exists():
        return _page(request, 400, error=_("Upload the backup again, then confirm."))
    organisation = Organisation.get().name
    if request.POST.get("confirm", "").strip() != organisation:
        with path.open("rb") as f:
            about = describe(f)
        return _page(
            request,
            400,
            about=about,
            upload=name,
            organisation=organisation,
            error=_("Type the organisation's name exactly as shown to confirm."),
        )
    try:
        with path.open("rb") as f:
            summary = restore_org(f, replace=True)
    except (DumpError, DatabaseError) as e:
        return _page(request, 400, error=_("Nothing was restored: %(error)s") % {"error": e})
    finally:
        path.unlink(missing_ok=True)
    # Everyone's sessions went with the old data; this request's person may not exist.
    logout(request)
    return render(
        request,
        "web/exports/restored.html",
        {"title": _("Backup restored"), "rows": summary.rows},
    )


__all__ = ["backup", "export_download", "export_job_list", "export_list", "list_table"]
