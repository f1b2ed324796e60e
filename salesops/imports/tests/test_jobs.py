"""Import jobs: chunks with progress, a worker lost mid-import, cancel, the error file,
the command line."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from django.utils.translation import gettext as _

from salesops.crm.models import Lead
from salesops.imports import engine, jobs
from salesops.imports.models import ImportJob, ImportMapping
from salesops.imports.tests import corpus

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """Stands for SIGKILL: no `except Exception` in the job runs."""


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.IMPORT_FILES_DIR = str(tmp_path / "imports")


@pytest.fixture(autouse=True)
def _people_read_english(cast):
    for person in (cast.admin, cast.manager, cast.rep, cast.teammate):
        person.language = "en"
        person.save()


def lead_file(n: int, bad: frozenset[int] | set[int] = frozenset()) -> bytes:
    rows = [["姓名", "公司", "邮箱"]] + [
        [f"Person {i}", f"Company {i}", "broken" if i in bad else f"p{i}@example.com"]
        for i in range(n)
    ]
    return corpus.csv_bytes(rows)


def new_job(user, data: bytes, *, mode="skip-errors", name="leads.csv") -> ImportJob:
    path, _size = jobs.store_upload(io.BytesIO(data), name)
    columns = jobs.suggest(jobs.headers_of(path, name), "lead")
    return jobs.create_job(
        user=user, object_type="lead", path=path, filename=name, columns=columns, mode=mode
    )


def crash_on_chunk(monkeypatch, number: int) -> None:
    real = engine._run_chunk
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == number:
            raise WorkerKilled
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "_run_chunk", flaky)


def test_a_job_imports_in_chunks_and_reports_its_progress(cast, monkeypatch):
    monkeypatch.setattr(jobs, "CHUNK", 40)
    job = new_job(cast.rep, lead_file(100, bad={10, 55}))
    job = jobs.run_job(job.pk)
    state = jobs.progress(job)
    assert state["status"] == "succeeded"
    assert (state["processed"], state["total"], state["percent"]) == (100, 100, 100)
    assert (state["created"], state["errors"]) == (98, 2)
    assert state["has_error_file"]


def test_a_lost_worker_in_skip_mode_resumes_after_the_last_committed_chunk(cast, monkeypatch):
    monkeypatch.setattr(jobs, "CHUNK", 30)
    job = new_job(cast.rep, lead_file(100, bad={5, 70}))
    crash_on_chunk(monkeypatch, 3)
    with pytest.raises(WorkerKilled):
        jobs.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "running"
    assert (job.processed_rows, job.resume_after_line) == (60, 61)
    assert Lead.objects.count() == 59
    monkeypatch.undo()
    monkeypatch.setattr(jobs, "CHUNK", 30)
    job = jobs.run_job(job.pk)  # the retried task
    assert job.status == "succeeded"
    assert (job.created_count, job.error_count, job.attempts) == (98, 2, 2)
    assert Lead.objects.count() == 98
    assert list(job.row_errors.values_list("line", flat=True)) == [7, 72]


def test_a_lost_worker_in_all_or_nothing_mode_leaves_nothing_and_restarts(cast, monkeypatch):
    monkeypatch.setattr(jobs, "CHUNK", 30)
    job = new_job(cast.rep, lead_file(100), mode="all-or-nothing")
    crash_on_chunk(monkeypatch, 3)
    with pytest.raises(WorkerKilled):
        jobs.run_job(job.pk)
    assert Lead.objects.count() == 0
    monkeypatch.undo()
    job = jobs.run_job(job.pk)
    assert (job.status, job.created_count) == ("succeeded", 100)
    assert Lead.objects.count() == 100


def test_all_or_nothing_job_with_a_bad_row_fails_and_keeps_the_error_file(cast):
    job = jobs.run_job(new_job(cast.rep, lead_file(50, bad={20}), mode="all-or-nothing").pk)
    assert job.status == "failed"
    assert (job.created_count, job.error_count) == (0, 1)
    assert "nothing was imported" in job.message
    assert Lead.objects.count() == 0
    text = "".join(jobs.error_csv(job))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["line", "column", "value", "reason"]
    assert rows[1][:3] == ["22", "邮箱", "broken"]


def test_the_error_file_is_in_the_importers_language(cast):
    cast.rep.language = "zh-hans"
    cast.rep.save()
    job = jobs.run_job(new_job(cast.rep, lead_file(3, bad={1})).pk)
    rows = list(csv.reader(io.StringIO("".join(jobs.error_csv(job)).lstrip("\ufeff"))))
    with translation.override("zh-hans"):
        assert rows[0] == [_("line"), _("column"), _("value"), _("reason")]
    assert rows[1][3] == "输入一个有效的 Email 地址。"


def test_a_cancelled_job_stops_after_the_current_chunk(cast, monkeypatch):
    monkeypatch.setattr(jobs, "CHUNK", 25)
    job = new_job(cast.rep, lead_file(100))
    real = engine._run_chunk

    def cancel_during_first(*args, **kwargs):
        jobs.request_cancel(job, by=cast.rep)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "_run_chunk", cancel_during_first)
    job = jobs.run_job(job.pk)
    assert job.status == "cancelled"
    assert Lead.objects.count() == 25


def test_a_queued_job_is_cancelled_at_once_and_only_by_its_owner(cast):
    job = new_job(cast.rep, lead_file(5))
    with pytest.raises(jobs.PermissionDenied):
        jobs.request_cancel(job, by=cast.teammate)
    job = jobs.request_cancel(job, by=cast.rep)
    assert job.status == "cancelled"
    assert jobs.run_job(job.pk).status == "cancelled"
    assert Lead.objects.count() == 0


def test_a_preview_suggests_the_mapping_and_shows_the_first_errors(cast):
    path, _size = jobs.store_upload(io.BytesIO(lead_file(30, bad={3, 4})), "x.csv")
    result = jobs.preview(user=cast.rep, object_type="lead", path=path, filename="x.csv")
    assert result.columns == {"姓名": "name", "公司": "company", "邮箱": "email"}
    assert result.report.counts()["created"] == 28
    assert [line for line, _p in result.errors] == [5, 6]
    assert Lead.objects.count() == 0


def test_a_user_without_the_create_right_cannot_start_an_import(cast):
    path, _size = jobs.store_upload(io.BytesIO(lead_file(1)), "x.csv")
    with pytest.raises(jobs.PermissionDenied):
        jobs.create_job(
            user=cast.analyst, object_type="lead", path=path, filename="x.csv", columns={}
        )


def test_the_command_imports_a_file_as_the_given_user_and_saves_the_mapping(cast, tmp_path):
    source = tmp_path / "leads.csv"
    source.write_bytes(lead_file(10, bad={2}))
    out = io.StringIO()
    call_command(
        "import",
        str(source),
        "--object=lead",
        "--as-user=rep",
        "--save-mapping=crm-export",
        stdout=out,
    )
    assert Lead.objects.filter(owner=cast.rep).count() == 9
    assert "9 created" in out.getvalue()
    errors = (tmp_path / "leads.csv.errors.csv").read_text(encoding="utf-8-sig")
    assert "4," in errors
    assert ImportMapping.objects.get(name="crm-export").columns["邮箱"] == "email"


def test_the_command_in_all_or_nothing_mode_fails_loudly(cast, tmp_path):
    source = tmp_path / "leads.csv"
    source.write_bytes(lead_file(10, bad={2}))
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(
            "import",
            str(source),
            "--object=lead",
            "--as-user=rep",
            "--mode=all-or-nothing",
            stdout=io.StringIO(),
        )
    assert Lead.objects.count() == 0


def test_the_command_refuses_a_pdf(cast, tmp_path):
    source = tmp_path / "leads.csv"
    source.write_bytes(corpus.pdf_bytes())
    with pytest.raises(CommandError, match="PDF"):
        call_command("import", str(source), "--object=lead", "--as-user=rep", stdout=io.StringIO())


def contact_job(user, n: int, *, bad: frozenset[int] = frozenset(), mode="skip-errors"):
    rows = [["客户名称", "姓名", "手机", "邮箱"]] + [
        ["Acme", f"Person {i}", f"139{i:08d}", "broken" if i in bad else f"p{i}@example.com"]
        for i in range(n)
    ]
    name = "contacts.csv"
    path, _size = jobs.store_upload(io.BytesIO(corpus.csv_bytes(rows)), name)
    columns = jobs.suggest(jobs.headers_of(path, name), "contact")
    return jobs.create_job(
        user=user, object_type="contact", path=path, filename=name, columns=columns, mode=mode
    )


def test_a_lost_worker_of_a_bulk_contact_job_resumes_after_the_last_committed_chunk(
    cast, monkeypatch
):
    from salesops.crm.models import Contact
    from salesops.crm.tests.factories import CustomerFactory
    from salesops.imports.bulk import BulkContactImporter

    CustomerFactory.create(owner=cast.rep, name="Acme")
    monkeypatch.setattr(jobs, "BULK_CHUNK", 30)
    monkeypatch.setattr(jobs, "BULK_COMMIT", 60)  # two chunks per transaction
    job = contact_job(cast.rep, 100, bad=frozenset({5, 70}))
    assert jobs.uses_bulk_path(job)
    real = BulkContactImporter.apply
    calls = {"n": 0}

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:  # in the second transaction, after one chunk of it
            raise WorkerKilled
        return real(self, *args, **kwargs)

    monkeypatch.setattr(BulkContactImporter, "apply", flaky)
    with pytest.raises(WorkerKilled):
        jobs.run_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.resume_after_line) == ("running", 60, 61)
    assert Contact.objects.count() == 59
    monkeypatch.setattr(BulkContactImporter, "apply", real)
    job = jobs.run_job(job.pk)  # the retried task
    assert (job.status, job.created_count, job.error_count, job.attempts) == (
        "succeeded",
        98,
        2,
        2,
    )
    assert Contact.objects.count() == 98
    assert list(job.row_errors.values_list("line", flat=True)) == [7, 72]


def test_contact_jobs_that_update_duplicates_go_row_by_row(cast):
    from salesops.crm.tests.factories import CustomerFactory

    CustomerFactory.create(owner=cast.rep, name="Acme")
    job = contact_job(cast.rep, 3)
    job.dedupe = "update"
    assert not jobs.uses_bulk_path(job)
    job.save()
    assert jobs.run_job(job.pk).created_count == 3
