"""`salesops recompute-fields [OBJECT]`: recompute the formula and roll-up values of
every record of OBJECT (default: every object that has some), in batches."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from salesops.customization import computed, registry


class Command(BaseCommand):
    help = "Recompute the stored values of formula and roll-up fields."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("object", nargs="?", default="", help="e.g. deal, customer")

    def handle(self, *args: Any, **opts: Any) -> None:
        names = [opts["object"]] if opts["object"] else [s.key for s in registry.objects()]
        for name in names:
            spec = registry.find(name)
            if spec is None or not spec.customisable:
                raise CommandError(
                    _("There is no kind of record “%(name)s” with custom fields.") % {"name": name}
                )
            changed = computed.recompute_object(name)
            if opts["object"] or changed:
                self.stdout.write(
                    ngettext(
                        "%(object)s: %(n)s record changed",
                        "%(object)s: %(n)s records changed",
                        changed,
                    )
                    % {"object": name, "n": changed}
                )
