"""`salesops template list | show NAME | diff NAME | apply NAME [--dry-run]
[--with-targets [--year Y]] [--with-sample-data] | export DIR`.

NAME is the key of a shipped template (``salesops/orgtemplates/library/<key>/``) or the
path of a template folder. A broken template is refused with file, line and what to
fix, and nothing is applied.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from salesops.orgtemplates import engine, exporting, schema
from salesops.users.admin_services import ensure_admin


class Command(BaseCommand):
    help = "List, show, compare, apply and export industry templates."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="the shipped templates")
        for name, text in (
            ("show", "what a template holds"),
            ("diff", "what applying would change"),
        ):
            p = sub.add_parser(name, help=text)
            p.add_argument("name")
        p = sub.add_parser("apply", help="apply a template (atomic, idempotent)")
        p.add_argument("name")
        p.add_argument("--dry-run", action="store_true", help="show the changes, write nothing")
        p.add_argument("--user", help="username recorded in the audit log")
        p.add_argument(
            "--with-targets",
            action="store_true",
            help="also set the template's default team targets where none is set",
        )
        p.add_argument("--year", type=int, help="the year of those targets (default: this year)")
        p.add_argument(
            "--with-sample-data",
            action="store_true",
            help="also load the template's sample records (once)",
        )
        p = sub.add_parser("export", help="write this organisation's configuration as a template")
        p.add_argument("dir")
        p.add_argument("--key", help="the exported template's key (default: the folder's name)")

    def handle(self, *args: Any, **options: Any) -> None:
        lang = engine.language()
        with translation.override("zh-hans" if lang == "zh" else "en"):
            getattr(self, f"do_{options['action']}")(lang, options)

    def load(self, name: str) -> schema.Template:
        try:
            return schema.load(schema.resolve(name))
        except schema.TemplateError as e:
            raise CommandError(
                _("The template was refused; nothing was applied.") + "\n" + str(e)
            ) from None

    def do_list(self, lang: str, options: dict) -> None:
        for t in schema.library():
            self.stdout.write(f"{t.key}\tv{t.version}\t{t.name.pick(lang)}")

    def do_show(self, lang: str, options: dict) -> None:
        t = self.load(options["name"])
        w = self.stdout.write
        w(f"{t.key} v{t.version}: {t.name.pick(lang)}")
        if t.description.pick(lang):
            w(t.description.pick(lang))
        w("")
        w(_("Picklists"))
        for p in t.picklists:
            w(
                f"  {p.key}: {p.name.pick(lang)} ({', '.join(o.label.pick(lang) for o in p.options)})"
            )
        w(_("Pipelines"))
        for pipe in t.pipelines:
            w(f"  {pipe.name.pick(lang)}" + (" *" if pipe.default else ""))
            for s in pipe.stages:
                w(f"    {s.name.pick(lang)}  {s.probability}%  {s.forecast_category}  {s.kind}")
        w(_("Custom objects"))
        for o in t.custom_objects:
            w(f"  {o.key}: {o.label.pick(lang)} ({', '.join(o.links)})")
        w(_("Custom fields"))
        for f in t.custom_fields:
            extra = f" = {f.formula}" if f.formula else ""
            w(f"  {f.object_type}.{f.key}: {f.label.pick(lang)} ({f.type}){extra}")
        w(_("Validation rules"))
        for v in t.validation_rules:
            w(f"  {v.object_type}: {v.name.pick(lang)}: {v.condition}")
        w(_("Layouts"))
        for layout in t.layouts:
            where = layout.object_type + (f" / {layout.pipeline}" if layout.pipeline else "")
            w(f"  {where}: " + "; ".join(s.title.pick(lang) or s.key for s in layout.sections))
        w(_("Pool rules"))
        for r in t.pool_rules:
            numbers = ", ".join(f"{k}={v}" for k, v in r.numbers.items() if v is not None)
            w(f"  {r.name.pick(lang)}: {numbers}")
        w(_("Saved reports"))
        for rep in t.reports:
            shared = f" → {rep.shared_with}" if rep.shared_with else ""
            w(f"  {rep.object_type}: {rep.name.pick(lang)} ({rep.definition['chart']}){shared}")
        w(_("Target metrics"))
        if t.targets.metrics:
            w("  " + ", ".join(t.targets.metrics))
        for x in t.targets.targets:
            teams = ", ".join(x.teams) or "*"
            month = f" month={x.months[0]}" if x.months else ""
            quarter = f" quarter={x.quarters[0]}" if x.quarters else ""
            w(f"  {x.metric} [{teams}]{month}{quarter}")
        if t.sample:
            w(_("Sample records") + f": {t.sample.count()}")

    def do_diff(self, lang: str, options: dict) -> None:
        self.report(engine.plan(self.load(options["name"]), lang=lang), dry=True)

    def do_apply(self, lang: str, options: dict) -> None:
        t = self.load(options["name"])
        try:
            extra = {
                "with_targets": options["with_targets"],
                "with_sample_data": options["with_sample_data"],
                "year": options.get("year"),
            }
            if options["dry_run"]:
                self.report(engine.plan(t, lang=lang, **extra), dry=True)
                return
            by = None
            if options.get("user"):
                by = get_user_model().objects.filter(username=options["user"]).first()
                if by is None:
                    raise CommandError(_("No user “%(u)s”.") % {"u": options["user"]})
                try:
                    ensure_admin(by)
                except PermissionDenied as e:
                    raise CommandError(" ".join(str(a) for a in e.args)) from None
            self.report(engine.apply(t, by=by, lang=lang, **extra), dry=False)
        except schema.TemplateError as e:
            raise CommandError(
                _("The template was refused; nothing was applied.") + "\n" + str(e)
            ) from None

    def do_export(self, lang: str, options: dict) -> None:
        for path in exporting.export(options["dir"], key=options.get("key")):
            self.stdout.write(str(path))

    def report(self, changes: list[engine.Change], *, dry: bool) -> None:
        for c in changes:
            self.stdout.write(str(c))
        if not changes:
            self.stdout.write(_("Nothing to change."))
        elif dry:
            text = ngettext(
                "%(n)s change would be made; nothing was written.",
                "%(n)s changes would be made; nothing was written.",
                len(changes),
            )
            self.stdout.write(text % {"n": len(changes)})
        else:
            text = ngettext("%(n)s change made.", "%(n)s changes made.", len(changes))
            self.stdout.write(text % {"n": len(changes)})
