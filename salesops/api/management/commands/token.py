"""`salesops token create --user NAME [--scope read|read_write] [--days N] [--name TEXT]`,
`salesops token revoke ID|PREFIX`, `salesops token list [--user NAME]`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils.translation import gettext as _

from salesops.api.models import ApiToken
from salesops.api.tokens import create_token, revoke_token
from salesops.users.models import User


class Command(BaseCommand):
    help = "Create, list and revoke personal API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print it once")
        create.add_argument("--user", required=True, help="username")
        create.add_argument("--scope", choices=ApiToken.Scope.values, default="read")
        create.add_argument("--days", type=int, help="valid for N days (default: until revoked)")
        create.add_argument("--name", default="", help="what the token is for")
        revoke = sub.add_parser("revoke", help="revoke a token by its id or prefix")
        revoke.add_argument("token", help="the id or the prefix shown by 'token list'")
        listing = sub.add_parser("list", help="list tokens")
        listing.add_argument("--user", default="")

    def handle(self, *args: Any, **opts: Any) -> None:
        getattr(self, f"_{opts['action']}")(opts)

    def _create(self, opts: dict[str, Any]) -> None:
        user = User.objects.filter(username=opts["user"]).first()
        if user is None:
            raise CommandError(_("There is no user %(name)s.") % {"name": opts["user"]})
        try:
            new = create_token(user=user, name=opts["name"], scope=opts["scope"], days=opts["days"])
        except ValidationError as e:
            raise CommandError(" ".join(e.messages)) from e
        self.stderr.write(
            _("Token %(id)s for %(user)s (%(scope)s). Copy it now: it is not shown again.")
            % {"id": new.token.pk, "user": user.username, "scope": new.token.scope}
        )
        self.stdout.write(new.raw)

    def _revoke(self, opts: dict[str, Any]) -> None:
        ref = opts["token"]
        q = Q(prefix=ref)
        if ref.isdigit():
            q |= Q(pk=int(ref))
        tokens = list(ApiToken.objects.filter(q))
        if len(tokens) != 1:
            raise CommandError(_("No single token matches “%(ref)s”.") % {"ref": ref})
        token = revoke_token(token=tokens[0])
        self.stdout.write(_("Revoked token %(id)s.") % {"id": token.pk})

    def _list(self, opts: dict[str, Any]) -> None:
        qs = ApiToken.objects.select_related("user")
        if opts["user"]:
            qs = qs.filter(user__username=opts["user"])
        for t in qs:
            state = "revoked" if t.revoked_at else "active"
            expires = t.expires_at.isoformat() if t.expires_at else "-"
            used = t.last_used_at.isoformat() if t.last_used_at else "-"
            self.stdout.write(
                f"{t.pk}\t{t.prefix}\t{t.user.username}\t{t.scope}\t{state}\t{expires}\t{used}\t{t.name}"
            )
