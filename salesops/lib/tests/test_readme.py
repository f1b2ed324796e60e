"""The README describes the apps that exist: every app named in its layout exists, and
every app of the package is named there."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_readme_layout_names_exactly_the_apps_that_exist():
    text = (ROOT / "README.md").read_text()
    layout = text.split("## Layout", 1)[1].split("```")[1]
    named = set(re.findall(r"[a-z_]+", layout))
    apps = {
        p.parent.name
        for p in (ROOT / "salesops").glob("*/apps.py")
        if (p.parent / "__init__.py").exists()
    }
    assert named - apps == set(), "the README names apps that do not exist"
    assert apps - named == set(), "apps missing from the README's layout"
