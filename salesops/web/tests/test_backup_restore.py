"""Settings ▸ Backup and restore: only an organisation administrator makes a backup
(on the worker, downloaded by them alone) or restores one; a bad file is refused with
a message saying what is wrong; a restore shows what the backup holds and asks for the
organisation's name before it replaces everything, and signs everyone out."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from salesops.crm.models import Customer
from salesops.crm.tests.factories import CustomerFactory
from salesops.imports import export_jobs
from salesops.imports.models import ExportJob
from salesops.org.models import Organisation

URL = "/settings/backup/"


@pytest.fixture(autouse=True)
def _export_files(settings, tmp_path):
    settings.EXPORT_FILES_DIR = str(tmp_path / "exports")


def test_the_address_is_the_settings_page():
    assert reverse("settings_backup") == URL


def make_backup(client) -> bytes:
    response = client.post(URL, {"action": "backup"})
    assert response.status_code == 302
    job = export_jobs.run(ExportJob.objects.filter(kind="backup").latest("id").pk)
    assert job.status == "succeeded", job.message
    download = client.get(reverse("export_download", args=[job.pk]))
    assert download.status_code == 200
    return b"".join(download.streaming_content)


@pytest.mark.parametrize("who", ["rep", "manager", "analyst"])
def test_only_an_administrator_opens_backs_up_or_restores(cast, signed_in, who):
    client = signed_in(getattr(cast, who))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"action": "backup"}).status_code == 403
    upload = SimpleUploadedFile("b.zip", b"PK", content_type="application/zip")
    assert client.post(URL, {"action": "upload", "file": upload}).status_code == 403
    assert not ExportJob.objects.exists()


def test_a_backup_is_made_on_the_worker_and_downloaded_only_by_its_administrator(cast, signed_in):
    CustomerFactory(owner=cast.rep, name="Kept customer")
    admin = signed_in(cast.admin)
    assert admin.get(URL).status_code == 200
    data = make_backup(admin)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert "manifest.json" in zf.namelist()
        assert "Kept customer" in zf.read("crm/customer.csv").decode()
    job = ExportJob.objects.get(kind="backup")
    assert signed_in(cast.rep).get(reverse("export_download", args=[job.pk])).status_code == 404


def test_a_job_for_someone_who_is_no_longer_an_administrator_fails(cast):
    job = export_jobs.start_backup(user=cast.admin)
    cast.admin.role.is_admin = False
    cast.admin.role.save()
    job = export_jobs.run(job.pk)
    assert job.status == "failed" and not job.file_path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,phone\nA,1\n", "This file is not a zip file"),
        (None, "This zip has no manifest.json"),
    ],
)
def test_a_bad_file_is_refused_with_what_is_wrong(cast, signed_in, content, message):
    if content is None:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            zf.writestr("hello.txt", "hi")
        content = out.getvalue()
    response = signed_in(cast.admin).post(
        URL, {"action": "upload", "file": SimpleUploadedFile("backup.zip", content)}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "Replace everything" not in response.content.decode()


def test_a_restore_needs_the_organisations_name_typed(cast, signed_in):
    admin = signed_in(cast.admin)
    data = make_backup(admin)
    CustomerFactory(owner=cast.rep, name="Made after the backup")
    page = admin.post(URL, {"action": "upload", "file": SimpleUploadedFile("b.zip", data)})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Replace everything with this backup" in text and "replaces everything" in text
    upload = page.context["upload"]
    wrong = admin.post(URL, {"action": "restore", "upload": upload, "confirm": "nope"})
    assert wrong.status_code == 400
    assert "Type the organisation" in wrong.content.decode()
    assert Customer.objects.filter(name="Made after the backup").exists()
    forged = admin.post(URL, {"action": "restore", "upload": "0" * 32 + ".zip", "confirm": "x"})
    assert forged.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_a_confirmed_restore_replaces_everything_and_signs_everyone_out(cast, signed_in):
    kept = CustomerFactory(owner=cast.rep, name="In the backup")
    admin = signed_in(cast.admin)
    data = make_backup(admin)
    CustomerFactory(owner=cast.rep, name="Made after the backup")
    Customer.objects.filter(pk=kept.pk).update(name="Renamed after the backup")
    page = admin.post(URL, {"action": "upload", "file": SimpleUploadedFile("b.zip", data)})
    name = Organisation.get().name
    done = admin.post(URL, {"action": "restore", "upload": page.context["upload"], "confirm": name})
    assert done.status_code == 200, done.content.decode()[:500]
    assert "rows were restored" in done.content.decode()
    assert list(Customer.objects.values_list("name", flat=True)) == ["In the backup"]
    assert not ExportJob.objects.exists()  # runtime state of the replaced data is gone
    after = admin.get(reverse("home"))
    assert after.status_code == 302 and "/login/" in after["Location"]
