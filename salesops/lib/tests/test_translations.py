"""Every user-facing string has a Simplified Chinese translation.

Extracts the messages afresh from a copy of the source (Django's makemessages, as a
developer would) and checks each against the committed zh-Hans catalogue: present,
translated, not fuzzy. A new `_("...")` without a translation fails here."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

PACKAGE = Path(__file__).resolve().parents[2]
CATALOGUE = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> polib.POFile:
    root = tmp_path_factory.mktemp("src")
    shutil.copytree(
        PACKAGE,
        root / "salesops",
        ignore=shutil.ignore_patterns("__pycache__", "locale", "*.pyc", "tests"),
    )
    (root / "salesops" / "locale").mkdir()
    env = {**os.environ, "PYTHONPATH": str(root), "DJANGO_SETTINGS_MODULE": "salesops.settings"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-location",
            "--no-wrap",
            "--verbosity",
            "0",
        ],
        cwd=root / "salesops",
        env=env,
        check=True,
    )
    return polib.pofile(str(root / "salesops" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))


def test_every_message_in_the_code_has_a_zh_hans_translation(fresh):
    committed = polib.pofile(str(CATALOGUE))
    have = {(e.msgctxt, e.msgid): e for e in committed if not e.obsolete}
    missing = []
    for entry in fresh:
        done = have.get((entry.msgctxt, entry.msgid))
        if done is None or not done.translated() or "fuzzy" in done.flags:
            missing.append(entry.msgid)
    assert missing == [], f"{len(missing)} messages lack a zh-Hans translation: {missing[:20]}"


def test_placeholders_survive_translation():
    committed = polib.pofile(str(CATALOGUE))
    import re

    pattern = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
    wrong = [
        e.msgid
        for e in committed.translated_entries()
        if sorted(pattern.findall(e.msgid)) != sorted(pattern.findall(e.msgstr))
        and not e.msgid_plural
    ]
    assert wrong == []
