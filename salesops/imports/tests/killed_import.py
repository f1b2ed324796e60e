"""An all-or-nothing bulk import that stops after its first chunk, waiting to be
killed: `python -m salesops.imports.tests.killed_import FILE USERNAME MARKER`.
Run by test_bulk_killed.py against the test database."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def main(path: str, username: str, marker: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")
    import django

    django.setup()
    from salesops.imports.bulk import run_bulk_import
    from salesops.imports.fields import spec_for, suggest_mapping
    from salesops.imports.reading import open_table
    from salesops.users.models import User

    user = User.objects.get(username=username)

    def checkpoint(report: object, errors: object) -> None:
        Path(marker).write_text(str(getattr(report, "created", 0)))
        time.sleep(300)  # killed here, the first chunk written inside the transaction

    with open(path, "rb") as f, open_table(f, path) as table:
        columns = suggest_mapping(table.headers, spec_for("contact"))
        run_bulk_import(
            table,
            user=user,
            columns=columns,
            mode="all-or-nothing",
            chunk_size=50,
            checkpoint=checkpoint,
        )


if __name__ == "__main__":
    main(*sys.argv[1:4])
