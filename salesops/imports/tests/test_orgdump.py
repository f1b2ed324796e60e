"""Whole-organisation export and restore: the restored instance gives the same KPIs and the
same rows; a file that cannot be restored is refused with a message and nothing is written."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone

from salesops.activities.models import FollowUp
from salesops.analytics.report import kpi_payload
from salesops.crm.models import Customer, Deal
from salesops.demo.seeding import seed
from salesops.imports.orgdump import DumpError, dumped_models, export_org, restore_org
from salesops.org.models import Currency
from salesops.users.models import User

TODAY = dt.date(2026, 11, 27)
PERIODS = ["2026-Q3", "2026-10", "2025", "FY2026-Q2", "2026-01-01..2026-11-27"]
#: Texts a naive CSV round trip gets wrong.
UGLY = [
    "=SUM(A1:A9)",
    "+86 138 0000 0000",
    "-minus",
    "@at",
    "'=quoted",
    "\\N",
    "\\back",
    '行1\n行2 "引号", 逗号',
    "",
]


@pytest.fixture
def organisation(transactional_db: Any) -> None:
    seed(scale="tiny", today=TODAY)
    customers = list(Customer.all_objects.order_by("pk")[: len(UGLY)])
    for customer, text in zip(customers, UGLY, strict=False):
        Customer.all_objects.filter(pk=customer.pk).update(
            name=text or "(blank)", address=text, custom={"note": text, "n": [1, None, "x"]}
        )
    # A soft-deleted deal and follow-up stay soft-deleted after the round trip.
    Deal.all_objects.filter(pk=Deal.all_objects.order_by("pk").values("pk")[:1]).update(
        deleted_at=timezone.now()
    )
    FollowUp.all_objects.filter(pk=FollowUp.all_objects.order_by("-pk").values("pk")[:1]).update(
        deleted_at=timezone.now()
    )
    _history_and_custom_records()


def _history_and_custom_records() -> None:
    """What only the organisation holds besides its records: a custom object with a
    record, a pipeline snapshot, a forecast submission and a recorded statistical
    forecast (history that cannot be recomputed), and the dashboard layout."""
    from salesops.analytics.models import DashboardLayout
    from salesops.forecasting.models import StatForecast, Submission
    from salesops.forecasting.snapshots import take_snapshot
    from salesops.objects import services as objects

    admin = User.objects.get(username="admin")
    objects.define_object(
        by=admin, key="site_visit", label="Site visit", title_label="Subject", links=["customer"]
    )
    customer = Customer.objects.order_by("pk").first()
    objects.create_record(
        by=admin, object_type="site_visit", data={"title": "拜访 1", "customer": customer.pk}
    )
    assert take_snapshot(day=TODAY) is not None
    Submission.objects.create(
        period_kind="month", period_start=dt.date(2026, 11, 1), person=admin, kind="own",
        commit=100, best_case=200, currency="CNY", by=admin, note="月度预测",
    )  # fmt: skip
    StatForecast.objects.create(
        made_on=TODAY, period_start=dt.date(2026, 11, 1), period_end=dt.date(2026, 12, 1),
        scope="org", subject="org", currency="CNY", expected=1000, booked=0, low=0, high=2000,
    )  # fmt: skip
    assert DashboardLayout.objects.exists()


def _kpis() -> dict[str, Any]:
    everyone = User(username="cli", is_superuser=True, is_active=True)
    rep = User.objects.filter(is_superuser=False, role__isnull=False).order_by("pk").first()
    assert rep is not None
    out = {}
    for period in PERIODS:
        for who, viewer in (("org", everyone), ("rep", rep)):
            payload, _values, errors = kpi_payload(
                viewer=viewer, period=period, team=None, owner=None, pipeline=None, kpis=None
            )
            out[f"{who} {period}"] = (payload, errors)
    return out


def _export() -> bytes:
    out = io.BytesIO()
    export_org(out)
    return out.getvalue()


def _members(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        found: dict[str, Any] = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(found.pop("manifest.json"))
    manifest.pop("exported_at")
    found["manifest.json"] = manifest
    return found


def _wipe(keep_currencies: bool = True) -> None:
    """Make the instance as a fresh `migrate` leaves it: no data, but the currencies the
    org migration puts in (which the restore must replace, not trip over)."""
    with transaction.atomic():  # foreign keys are checked at commit (leads ↔ customers)
        for model in reversed(dumped_models()):
            if keep_currencies and model is Currency:
                continue
            model._base_manager.all()._raw_delete(connection.alias)


def _triggers() -> set[str]:
    """The database's own triggers (the KPI roll-ups' are dropped for a restore and must
    come back; a failed restore must leave them in place)."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cur.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        return {row[0] for row in cur.fetchall()}


def _counts() -> dict[str, int]:
    return {m._meta.label_lower: m._base_manager.count() for m in dumped_models()}


@pytest.mark.django_db(transaction=True)
def test_restore_gives_the_same_kpis_rows_and_ids(organisation: None) -> None:
    before = _kpis()
    data = _export()
    counts = _counts()
    triggers = _triggers()
    assert triggers  # the KPI roll-ups' triggers
    _wipe()
    assert User.objects.count() == 0

    summary = restore_org(io.BytesIO(data))

    assert summary.tables == counts
    for label in ("objects.customrecord", "forecasting.snapshotrow", "forecasting.submission",
                  "forecasting.statforecast", "analytics.dashboardlayout"):  # fmt: skip
        assert counts[label] > 0, label
    assert _triggers() == triggers  # back after the load, roll-ups rebuilt:
    assert _kpis() == before
    # Every byte of every table comes back: a second export equals the first.
    assert _members(_export()) == _members(data)
    texts = set(Customer.all_objects.values_list("address", flat=True))
    assert set(UGLY) <= texts
    assert Deal.all_objects.filter(deleted_at__isnull=False).count() == 1
    assert not Deal.objects.filter(deleted_at__isnull=False).exists()
    # Logins survive (the password hashes are part of the export).
    assert User.objects.get(username="admin").has_usable_password()
    # New rows after a restore get new ids, not ones already taken.
    highest = Customer.all_objects.order_by("-pk").values_list("pk", flat=True)[0]
    added = Customer.all_objects.create(name="after restore")
    assert added.pk > highest


@pytest.mark.django_db(transaction=True)
def test_formula_cells_are_quoted_in_the_files(organisation: None) -> None:
    with zipfile.ZipFile(io.BytesIO(_export())) as zf:
        text = zf.read("crm/customer.csv").decode()
    assert ",'=SUM(A1:A9)," in text
    assert "\\\\N" in text  # the text "\N" is escaped, the NULL marker is not


@pytest.mark.django_db(transaction=True)
def test_a_non_empty_instance_is_refused_and_left_alone(organisation: None) -> None:
    data = _export()
    counts = _counts()
    with pytest.raises(DumpError, match="already has data"):
        restore_org(io.BytesIO(data))
    assert _counts() == counts


def _rezip(data: bytes, change: Any, fix_checksum: bool) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    members = {n: src.read(n) for n in src.namelist()}
    manifest = json.loads(members["manifest.json"])
    change(members, manifest)
    if fix_checksum:
        for entry in manifest["tables"]:
            entry["sha256"] = hashlib.sha256(members[entry["file"]]).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return out.getvalue()


def _break_a_deal_amount(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
    lines = members["crm/deal.csv"].decode().split("\n")
    header = lines[0].split(",")
    cells = lines[-2].split(",")
    cells[header.index("amount")] = "twelve"
    lines[-2] = ",".join(cells)
    members["crm/deal.csv"] = "\n".join(lines).encode()


@pytest.mark.parametrize(
    ("change", "fix", "message"),
    [
        (_break_a_deal_amount, False, "checksum differs"),
        (_break_a_deal_amount, True, r"crm/deal.csv line \d+ has a value that cannot be read"),
        (lambda m, man: man["migrations"]["crm"].append("9999_future"), False, "newer Salesops"),
        (lambda m, man: man.update(format="something-else"), False, "not a Salesops"),
        (lambda m, man: m.pop("crm/deal.csv"), False, "does not hold it"),
    ],
    ids=["tampered", "bad-cell", "newer-version", "foreign-zip", "missing-file"],
)
@pytest.mark.django_db(transaction=True)
def test_a_bad_file_is_refused_and_nothing_is_written(
    organisation: None, change: Any, fix: bool, message: str
) -> None:
    bad = _rezip(_export(), change, fix)
    _wipe()
    empty = _counts()
    triggers = _triggers()
    with pytest.raises(DumpError, match=message):
        restore_org(io.BytesIO(bad))
    assert _counts() == empty
    assert _triggers() == triggers
    assert Currency.objects.exists()  # what migrate put in is still there


@pytest.mark.django_db(transaction=True)
def test_not_a_zip_is_refused() -> None:
    with pytest.raises(DumpError, match="not a zip file"):
        restore_org(io.BytesIO(b"name,phone\nA,1\n"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("customers.csv", "name\nA\n")
    with pytest.raises(DumpError, match="no manifest"):
        restore_org(io.BytesIO(out.getvalue()))


def test_every_exported_table_points_only_at_exported_tables() -> None:
    """A new model with a foreign key to something the export leaves out (API tokens,
    import jobs, the task queue) would restore with dangling ids: this fails first."""
    exported = set(dumped_models())
    for model in exported:
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model not in exported:
                assert f.related_model is ContentType, f"{model._meta.label}.{f.name}"


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="SQLite file instance"
)
@pytest.mark.django_db(transaction=True)
def test_restore_into_a_new_instance_from_the_command_line(
    organisation: None, tmp_path: Path
) -> None:
    """export-org here, then migrate + restore-org + kpi in a brand-new SQLite instance."""
    dump = tmp_path / "org.zip"
    dump.write_bytes(_export())
    everyone = User(username="cli", is_superuser=True, is_active=True)
    payload, _v, _e = kpi_payload(
        viewer=everyone, period="2026-Q3", team=None, owner=None, pipeline=None, kpis=None
    )
    env = {**os.environ, "SQLITE_PATH": str(tmp_path / "new.sqlite3"), "DATABASE_URL": ""}

    def salesops(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "salesops", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    salesops("migrate", "--no-input", "-v", "0")
    said = salesops("restore-org", str(dump))  # in the restored organisation's language
    assert "Restored" in said or "恢复" in said
    restored = json.loads(salesops("kpi", "--period", "2026-Q3", "--format", "json"))
    assert restored == json.loads(json.dumps(payload, default=str))
    # A second restore into the same instance is refused.
    again = subprocess.run(
        [sys.executable, "-m", "salesops", "restore-org", str(dump)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode != 0
    assert "already has data" in again.stderr or "已有数据" in again.stderr
