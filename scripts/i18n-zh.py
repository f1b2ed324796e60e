"""Helper for keeping the zh-Hans catalogue complete (the translator's tool, not the product's).

    .venv/bin/python scripts/i18n-zh.py extract           # makemessages as the test does; list what needs translating
    .venv/bin/python scripts/i18n-zh.py todo [OUT.json]   # untranslated / fuzzy entries as a JSON to fill in
    .venv/bin/python scripts/i18n-zh.py apply IN.json     # write translations ({msgid: msgstr} or the todo list), drop fuzzy
    .venv/bin/python scripts/i18n-zh.py check             # placeholders, HTML tags, fuzzy, empty, headers
    .venv/bin/python scripts/i18n-zh.py dump              # every entry: msgid => msgstr, for a read-through

The JSON is a list of {"msgctxt", "msgid", "msgid_plural", "previous", "old", "msgstr"}; "msgstr" is a
string, or for a plural entry a string used for msgstr[0] (zh has one form).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[1]
ZH = ROOT / "salesops" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
EN = ROOT / "salesops" / "locale" / "en" / "LC_MESSAGES" / "django.po"

PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-+ #0]*\d*(?:\.\d+)?[sdifrxX%]|\{\w*\}|\{\{\s*\w+\s*\}\}")
ACRONYMS = {"ID", "KPI", "API", "SKU", "URL", "CSV", "XLSX", "CLV", "NPS", "CSAT", "PDF"}
TAG = re.compile(r"</?\w+[^>]*>")

HEADERS = {
    ZH: {
        "Project-Id-Version": "Salesops",
        "Language-Team": "Simplified Chinese <zh-Hans@salesops>",
        "Last-Translator": "Salesops i18n",
        "Language": "zh_Hans",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": "nplurals=1; plural=0;",
    },
    EN: {
        "Project-Id-Version": "Salesops",
        "Language-Team": "English <en@salesops>",
        "Last-Translator": "Salesops i18n",
        "Language": "en",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": "nplurals=2; plural=(n != 1);",
    },
}


def load(path: Path) -> polib.POFile:
    po = polib.pofile(str(path), wrapwidth=100000)
    po.wrapwidth = 100000
    return po


def fix_header(po: polib.POFile, path: Path) -> None:
    po.metadata.update(HEADERS[path])
    po.metadata_is_fuzzy = False
    if path == ZH:
        import datetime as dt

        po.metadata["PO-Revision-Date"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M+0000")
    po.header = "Salesops message catalogue.\nThis file is distributed under the same license as the Salesops package."


def todo(out: str | None) -> None:
    po = load(ZH)
    rows = []
    for e in po:
        if e.obsolete:
            continue
        if e.translated() and "fuzzy" not in e.flags:
            continue
        rows.append(
            {
                "msgctxt": e.msgctxt,
                "msgid": e.msgid,
                "msgid_plural": e.msgid_plural or None,
                "previous": e.previous_msgid or None,
                "old": (e.msgstr_plural.get(0) if e.msgid_plural else e.msgstr) or None,
                "msgstr": "",
            }
        )
    text = json.dumps(rows, ensure_ascii=False, indent=1)
    if out:
        Path(out).write_text(text, encoding="utf-8")
    print(text if not out else f"{len(rows)} entries to translate -> {out}")


def apply(src: str) -> None:
    rows = json.loads(Path(src).read_text(encoding="utf-8"))
    if isinstance(rows, dict):  # {msgid: msgstr}
        rows = [{"msgctxt": None, "msgid": k, "msgstr": v} for k, v in rows.items()]
    po = load(ZH)
    index = {(e.msgctxt, e.msgid): e for e in po if not e.obsolete}
    done = skipped = 0
    for row in rows:
        e = index.get((row.get("msgctxt"), row["msgid"]))
        text = row.get("msgstr") or ""
        if e is None or not text:
            skipped += 1
            print("SKIP", repr(row["msgid"])[:80])
            continue
        if e.msgid_plural:
            e.msgstr_plural = {0: text}
        else:
            e.msgstr = text
        if "fuzzy" in e.flags:
            e.flags.remove("fuzzy")
        e.previous_msgid = e.previous_msgid_plural = e.previous_msgctxt = None
        done += 1
    fix_header(po, ZH)
    po.save(str(ZH))
    en = load(EN)
    fix_header(en, EN)
    en.save(str(EN))
    print(f"applied {done}, skipped {skipped}")


def check() -> int:
    problems = []
    po = load(ZH)
    for e in po:
        if e.obsolete:
            continue
        forms = (
            [e.msgstr_plural.get(i, "") for i in sorted(e.msgstr_plural)]
            if e.msgid_plural
            else [e.msgstr]
        )
        if not all(forms) or not forms:
            problems.append(("untranslated", e.msgid))
            continue
        if "fuzzy" in e.flags:
            problems.append(("fuzzy", e.msgid))
        if e.msgid_plural and len(forms) != 1:
            problems.append(("plural forms != 1", e.msgid))
        want = sorted(
            set(PLACEHOLDER.findall(e.msgid)) | set(PLACEHOLDER.findall(e.msgid_plural or ""))
        )
        for f in forms:
            if not e.msgid_plural and sorted(PLACEHOLDER.findall(f)) != sorted(
                PLACEHOLDER.findall(e.msgid)
            ):
                problems.append(("placeholder count", f"{e.msgid} => {f}"))
            if (
                e.msgid[:1].isspace() != f[:1].isspace()
                or e.msgid[-1:].isspace() != f[-1:].isspace()
            ):
                problems.append(("leading/trailing space", f"{e.msgid!r} => {f!r}"))
            if sorted(set(PLACEHOLDER.findall(f))) != want:
                problems.append(("placeholders", f"{e.msgid} => {f}"))
            if sorted(TAG.findall(f)) != sorted(TAG.findall(e.msgid)):
                problems.append(("html tags", f"{e.msgid} => {f}"))
            source_words = set(re.findall(r"[A-Za-z]+", e.msgid + " " + (e.msgid_plural or "")))
            foreign = [
                w
                for w in re.findall(r"[A-Za-z]{2,}", PLACEHOLDER.sub("", f))
                if w not in source_words and w not in ACRONYMS
            ]
            if foreign:
                problems.append(("latin letters not in the source", f"{e.msgid} => {f}"))
    for path in (ZH, EN):
        p = load(path)
        for k, v in HEADERS[path].items():
            if p.metadata.get(k) != v:
                problems.append(("header", f"{path.parent.parent.name}: {k}={p.metadata.get(k)!r}"))
        if p.metadata_is_fuzzy:
            problems.append(("header", f"{path.parent.parent.name}: fuzzy header"))
    for kind, what in problems:
        print(f"{kind}: {what}")
    total = len([e for e in po if not e.obsolete])
    print(f"{total} messages, {len(problems)} problems")
    return 1 if problems else 0


def extract() -> None:
    """makemessages exactly as the translation test does, then list what needs a translation."""
    import subprocess

    subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "salesops"),
            "makemessages",
            "-l",
            "zh_Hans",
            "-l",
            "en",
            "--no-location",
            "--no-wrap",
            "--ignore=tests",
            "--verbosity",
            "0",
        ],
        cwd=ROOT / "salesops",
        check=True,
    )
    po = load(ZH)
    for e in po:
        if e.obsolete or (e.translated() and "fuzzy" not in e.flags):
            continue
        old = (e.msgstr_plural.get(0) if e.msgid_plural else e.msgstr) or ""
        extra = f"   [plural: {e.msgid_plural!r}]" if e.msgid_plural else ""
        extra += f"   [was: {e.previous_msgid!r} => {old}]" if e.previous_msgid else ""
        print(f"{e.msgid!r}{extra}")


def dump() -> None:
    for e in load(ZH):
        if e.obsolete:
            continue
        s = e.msgstr_plural.get(0) if e.msgid_plural else e.msgstr
        print(f"{e.msgid!r} => {s}")


if __name__ == "__main__":
    cmd, *args = sys.argv[1:] or ["check"]
    if cmd == "todo":
        todo(args[0] if args else None)
    elif cmd == "apply":
        apply(args[0])
    elif cmd == "check":
        sys.exit(check())
    elif cmd == "extract":
        extract()
    elif cmd == "dump":
        dump()
    else:
        sys.exit(__doc__)
