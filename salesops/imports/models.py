"""Saved column mappings, import jobs with their progress, and the rows that failed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

IMPORTABLE = [
    ("lead", _("Leads")),
    ("customer", _("Customers")),
    ("contact", _("Contacts")),
    ("deal", _("Deals")),
    ("followup", _("Follow-ups")),
    ("product", _("Products")),
    ("payment", _("Payments")),
]


class ImportMapping(models.Model):
    """Which column of a file goes to which field, saved under a name for re-use."""

    name = models.CharField(_("name"), max_length=100)
    object_type = models.CharField(_("object"), max_length=20, choices=IMPORTABLE)
    #: {column header: target key}, e.g. {"客户名称": "name", "手机": "contact.mobile"}
    columns = models.JSONField(_("columns"), default=dict)
    #: e.g. {"day_first": true}
    options = models.JSONField(_("options"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["object_type", "name"]
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")
        constraints = [
            models.UniqueConstraint(fields=["object_type", "name"], name="import_mapping_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    """One file being imported by one person. Counts and `resume_after_line` are
    saved in the same transaction as the rows they describe, so after a crash they
    are exactly what was committed."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to start")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all-or-nothing", _("All or nothing")
        SKIP_ERRORS = "skip-errors", _("Skip rows with errors")

    class Dedupe(models.TextChoices):
        SKIP = "skip", _("Skip duplicates")
        UPDATE = "update", _("Update duplicates")
        CREATE = "create", _("Create anyway")

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    object_type = models.CharField(_("object"), max_length=20, choices=IMPORTABLE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    file_name = models.CharField(_("file name"), max_length=255)
    file_path = models.CharField(_("stored file"), max_length=500)
    file_size = models.PositiveBigIntegerField(_("file size"), default=0)
    columns = models.JSONField(_("columns"), default=dict)
    options = models.JSONField(_("options"), default=dict, blank=True)
    mode = models.CharField(
        _("mode"), max_length=20, choices=Mode.choices, default=Mode.SKIP_ERRORS
    )
    dedupe = models.CharField(
        _("duplicates"), max_length=10, choices=Dedupe.choices, default=Dedupe.SKIP
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    total_rows = models.PositiveIntegerField(_("rows in the file"), null=True, blank=True)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("duplicates skipped"), default=0)
    error_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    #: Rows up to this spreadsheet line are committed (skip-errors mode): a retried
    #: task continues after it.
    resume_after_line = models.PositiveIntegerField(default=0, editable=False)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    message = models.TextField(_("message"), blank=True)
    task_id = models.CharField(max_length=64, blank=True, editable=False)
    attempts = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["created_by", "created_at"], name="import_job_user")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED


class ImportRowError(models.Model):
    """Why one cell or row could not be imported: the lines of the error file."""

    job = models.ForeignKey(
        ImportJob, verbose_name=_("import"), on_delete=models.CASCADE, related_name="row_errors"
    )
    line = models.PositiveIntegerField(_("line"))
    column = models.CharField(_("column"), max_length=255, blank=True)
    value = models.TextField(_("value"), blank=True)
    reason = models.TextField(_("reason"))

    class Meta:
        ordering = ["job", "line", "id"]
        verbose_name = _("import error")
        verbose_name_plural = _("import errors")
        indexes = [models.Index(fields=["job", "line"], name="import_error_line")]

    def __str__(self) -> str:
        return f"{self.line}: {self.reason[:60]}"


class ExportJob(models.Model):
    """A file made on the worker for one person: a large list export or the
    organisation's backup. Only its owner downloads it, until `expires_at`."""

    class Kind(models.TextChoices):
        LIST = "list", _("List export")
        BACKUP = "backup", _("Organisation backup")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Ready")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    #: What to export, e.g. {"list": "customers", "query": "q=acme&sort=-id"}.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    format = models.CharField(_("format"), max_length=5)
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    row_count = models.PositiveBigIntegerField(_("rows"), null=True, blank=True)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_path = models.CharField(_("stored file"), max_length=500, blank=True, editable=False)
    file_size = models.PositiveBigIntegerField(_("file size"), default=0)
    message = models.TextField(_("message"), blank=True)
    task_id = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [models.Index(fields=["created_by", "created_at"], name="export_job_user")]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()
