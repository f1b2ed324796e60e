"""The people who log in: users, the team tree, roles with data scopes, targets.

`User.visible_owner_ids()` and `User.has_right()` are the whole data-permission
rule; `lib.models.ScopedQuerySet.visible_to` applies it to every main QuerySet.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext_lazy as _

from salesops.lib.models import AliveManager, ScopedQuerySet, SoftDeleteModel

#: Object types that roles grant rights on (and custom fields attach to).
OBJECT_TYPES: list[tuple[str, Any]] = [
    ("lead", _("Lead")),
    ("customer", _("Customer")),
    ("contact", _("Contact")),
    ("deal", _("Deal")),
    ("followup", _("Follow-up")),
    ("task", _("Task")),
    ("product", _("Product")),
    ("quote", _("Quote")),
    ("contract", _("Contract")),
    ("payment", _("Payment")),
    ("target", _("Target")),
]
RIGHTS: list[tuple[str, Any]] = [
    ("view", _("View")),
    ("create", _("Create")),
    ("edit", _("Edit")),
    ("delete", _("Delete")),
    ("export", _("Export")),
]
ALL_RIGHTS = {t: [r for r, _label in RIGHTS] for t, _label in OBJECT_TYPES}
#: What an object type in roles' rights looks like: a built-in type or a custom
#: object's key.
RIGHTS_KEY = re.compile(r"[a-z][a-z0-9_]*")


class Team(models.Model):
    """A department or team; `path` (materialised, e.g. "0001.0004.") makes sub-tree
    look-ups one indexed prefix match."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    manager = models.ForeignKey(
        "users.User",
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
    )
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")

    class Meta:
        ordering = ["path"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Keep `path` right: computed from the parent's path as stored (not as held in
        memory, which may be stale), and carried down to every sub-team on a move."""
        if self.pk is None:
            super().save(*args, **kwargs)
            kwargs.pop("force_insert", None)
        old_path = Team.objects.filter(pk=self.pk).values_list("path", flat=True).first() or ""
        parent_path = (
            Team.objects.filter(pk=self.parent_id).values_list("path", flat=True).first() or ""
            if self.parent_id
            else ""
        )
        self.path = parent_path + f"{self.pk:06d}."
        super().save(*args, **kwargs)
        if old_path and old_path != self.path:
            Team.objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                path=Concat(Value(self.path), Substr("path", len(old_path) + 1))
            )

    def clean(self) -> None:
        node = self.parent
        while node is not None:
            if self.pk is not None and node.pk == self.pk:
                raise ValidationError(
                    {"parent": _("A team cannot be placed under itself or its own sub-team.")}
                )
            node = node.parent

    def subtree(self) -> models.QuerySet[Team]:
        return Team.objects.filter(path__startswith=self.path)


class Role(models.Model):
    class Scope(models.TextChoices):
        OWN = "own", _("Own records")
        SUBORDINATES = "subordinates", _("Own and subordinates' records")
        TEAM = "team", _("Own team's records")
        TEAM_TREE = "team_tree", _("Own team's and sub-teams' records")
        ALL = "all", _("All records")

    name = models.CharField(_("name"), max_length=100, unique=True)
    data_scope = models.CharField(
        _("data scope"), max_length=20, choices=Scope.choices, default=Scope.OWN
    )
    #: {object_type: [right, ...]}
    rights = models.JSONField(_("rights"), default=dict, blank=True)
    #: {object_type: [field name, ...]}: hidden from this role in pages, exports, reports.
    hidden_fields = models.JSONField(_("hidden fields"), default=dict, blank=True)
    is_sales_rep = models.BooleanField(
        _("counts as a sales rep"),
        default=False,
        help_text=_("Reps are counted in per-rep KPIs such as touchpoints per rep per day."),
    )
    is_admin = models.BooleanField(_("administers the organisation"), default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        known_rights = {r for r, _label in RIGHTS}
        if not isinstance(self.rights, dict):
            raise ValidationError({"rights": _("Rights must map object types to lists.")})
        for obj_type, rights in self.rights.items():
            # A built-in object type or a custom object's key (which custom objects
            # exist is the customization layer's business: its admin service checks).
            if not isinstance(obj_type, str) or not RIGHTS_KEY.fullmatch(obj_type):
                raise ValidationError(
                    {"rights": _("Unknown object type “%(t)s”.") % {"t": obj_type}}
                )
            if not isinstance(rights, list) or not set(rights) <= known_rights:
                raise ValidationError(
                    {
                        "rights": _(
                            "Unknown right for “%(t)s”; use view, create, edit, delete or export."
                        )
                        % {"t": obj_type}
                    }
                )


class User(AbstractUser):
    """A person who logs in. `team` is their primary team; `reports_to` their manager."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=[("zh-hans", "简体中文"), ("en", "English")],
        default="zh-hans",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    extra_teams = models.ManyToManyField(
        Team, verbose_name=_("other teams"), blank=True, related_name="extra_members"
    )
    reports_to = models.ForeignKey(
        "self",
        verbose_name=_("reports to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="direct_reports",
    )
    role = models.ForeignKey(
        Role,
        verbose_name=_("role"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )

    objects: ClassVar[UserManager] = UserManager()

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    # -- who administers ----------------------------------------------------------
    # The one rule for "is an organisation administrator": an active person who is a
    # superuser or whose role administers. Everything asks `is_org_admin()` (or, for a
    # query, `administrators()`, the same rule as a filter); the Django admin site adds
    # its own gate, `is_staff`, on top.
    def is_org_admin(self) -> bool:
        return bool(
            self.is_active and (self.is_superuser or (self.role is not None and self.role.is_admin))
        )

    @classmethod
    def administrators(cls) -> Any:
        return cls.objects.filter(
            Q(is_superuser=True) | Q(role__is_admin=True), is_active=True
        ).order_by("pk")

    # -- data permissions ------------------------------------------------------
    def has_right(self, object_type: str, right: str) -> bool:
        if not self.is_active:
            return False
        if self.is_org_admin():
            return True
        if self.role is None:
            return False
        return right in (self.role.rights or {}).get(object_type, [])

    def hidden_fields(self, object_type: str) -> set[str]:
        if self.is_superuser or self.role is None:
            return set()
        return set((self.role.hidden_fields or {}).get(object_type, []))

    @property
    def data_scope(self) -> str:
        if self.is_superuser:
            return Role.Scope.ALL
        if self.role is None:
            return Role.Scope.OWN
        return self.role.data_scope

    def team_ids(self) -> set[int]:
        ids = set(self.extra_teams.values_list("id", flat=True)) if self.pk else set()
        if self.team_id:
            ids.add(self.team_id)
        return ids

    def visible_owner_ids(self) -> Collection[int] | None:
        """Ids of the users whose records this user may see; None means everyone's.

        Cached on the instance (one request, one user object)."""
        cached = getattr(self, "_visible_owner_ids", False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        result = self._compute_visible_owner_ids()
        self._visible_owner_ids = result
        return result

    def _compute_visible_owner_ids(self) -> Collection[int] | None:
        scope = self.data_scope
        if scope == Role.Scope.ALL:
            return None
        if scope == Role.Scope.OWN:
            return {self.pk}
        if scope == Role.Scope.SUBORDINATES:
            edges = User.objects.exclude(reports_to=None).values_list("id", "reports_to_id")
            below: dict[int, list[int]] = {}
            for uid, boss in edges:
                below.setdefault(boss, []).append(uid)
            seen = {self.pk}
            stack = [self.pk]
            while stack:
                for uid in below.get(stack.pop(), []):
                    if uid not in seen:
                        seen.add(uid)
                        stack.append(uid)
            return seen
        team_ids = self.team_ids()
        if scope == Role.Scope.TEAM_TREE and team_ids:
            paths = Team.objects.filter(id__in=team_ids).values_list("path", flat=True)
            q = Q()
            for p in paths:
                q |= Q(path__startswith=p)
            team_ids = set(Team.objects.filter(q).values_list("id", flat=True))
        members = set(
            User.objects.filter(Q(team_id__in=team_ids) | Q(extra_teams__in=team_ids)).values_list(
                "id", flat=True
            )
        )
        members.add(self.pk)
        return members

    def forget_permissions(self) -> None:
        """Drop the cached scope (after the user's role or teams change)."""
        self.__dict__.pop("_visible_owner_ids", None)
        self.__dict__.pop("_collaborator_deal_ids", None)
        self.__dict__.pop("_hidden_keys_cache", None)


class Target(SoftDeleteModel):
    """A number to reach: for a person or a team (with sub-teams), a metric, a period."""

    object_type: ClassVar[str] = "target"
    owner_field: ClassVar[str] = "user"

    class Metric(models.TextChoices):
        BOOKINGS = "bookings", _("Bookings")
        COLLECTIONS = "collections", _("Collections")
        NEW_CUSTOMERS = "new_customers", _("New customers")
        WON_DEALS = "won_deals", _("Won deals")
        FOLLOWUPS = "followups", _("Follow-ups")

    class PeriodKind(models.TextChoices):
        MONTH = "month", _("Month")
        QUARTER = "quarter", _("Quarter")
        YEAR = "year", _("Year")

    user = models.ForeignKey(
        User,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="targets",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="targets",
    )
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    period_kind = models.CharField(_("period"), max_length=10, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    value = models.DecimalField(_("target value"), max_digits=18, decimal_places=2)

    objects: ClassVar[Any] = AliveManager.from_queryset(ScopedQuerySet)()
    all_objects: ClassVar[Any] = models.Manager.from_queryset(ScopedQuerySet)()

    class Meta:
        ordering = ["period_start", "metric"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(user__isnull=False, team__isnull=True)
                    | Q(user__isnull=True, team__isnull=False)
                ),
                name="target_person_xor_team",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="target_value_nonneg"),
            models.UniqueConstraint(
                fields=["user", "metric", "period_kind", "period_start"],
                condition=Q(deleted_at__isnull=True, user__isnull=False),
                name="target_unique_person",
            ),
            models.UniqueConstraint(
                fields=["team", "metric", "period_kind", "period_start"],
                condition=Q(deleted_at__isnull=True, team__isnull=False),
                name="target_unique_team",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.team} {self.metric} {self.period_start}"

    @classmethod
    def extra_visibility(cls, user: Any, prefix: str = "") -> Q | None:
        """Targets of the user's own teams and their sub-teams are visible too."""
        ids = user.team_ids()
        if not ids:
            return None
        paths = list(Team.objects.filter(id__in=ids).values_list("path", flat=True))
        q = Q()
        for p in paths:
            q |= Q(**{f"{prefix}team__path__startswith": p})
        return q
