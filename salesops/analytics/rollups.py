# ruff: noqa: S608 - every statement is built from fixed table and column names
"""The triggers that keep the roll-ups of `analytics.models` exact, and rebuilding them.

Why triggers: every write path (services, imports, the seed's bulk writer, the admin,
raw SQL) changes the base tables, and only the database sees all of them. The triggers
run in the writing transaction, so a KPI computed after a commit sees that write.

Additions upsert (`ON CONFLICT … DO UPDATE`); subtractions only update rows that exist
and then drop rows that reached zero, so emptying the tables in any order (a test
database flush) never leaves negative counts behind.

A bulk load uses `suspended()`: the triggers are dropped for the load and the roll-ups
are rebuilt from the base tables in a few grouped queries afterwards, which is far
faster than keeping them up to date row by row. The migration back-fills the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

TOUCH = "('call', 'visit', 'meeting', 'email', 'message')"
CLOSED = "('won', 'lost')"
DEAL_KEY = "(owner_id, pipeline_id, status, day, currency_id)"
ORG_DEAL_KEY = "(status, day, pipeline_id, currency_id)"
ORG_STAGE_KEY = "(stage_id, pipeline_id, hour)"
DEAL_SUMS = "n = {t}.n + excluded.n, cents = {t}.cents + excluded.cents, cycle_n = {t}.cycle_n + excluded.cycle_n, cycle_days = {t}.cycle_days + excluded.cycle_days"
STAGE_SUMS = "entered = {t}.entered + excluded.entered, advanced = {t}.advanced + excluded.advanced"

TABLES = [
    "analytics_dealday",
    "analytics_orgdealday",
    "analytics_followupday",
    "analytics_orgstageentryhour",
    "analytics_stagereentry",
    "analytics_customerspell",
]


class Dialect:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor

    def day(self, ts: str) -> str:
        """The UTC date of a stored timestamp."""
        if self.vendor == "sqlite":
            return f"date({ts})"
        return f"(({ts}) AT TIME ZONE 'UTC')::date"

    def hour(self, ts: str) -> str:
        """The UTC hour (a timestamp on the hour) of a stored timestamp."""
        if self.vendor == "sqlite":
            return f"strftime('%Y-%m-%d %H:00:00', {ts})"
        return f"date_trunc('hour', {ts}, 'UTC')"

    def cents(self, amount: str) -> str:
        if self.vendor == "sqlite":
            return f"CAST(round(({amount}) * 100) AS INTEGER)"
        return f"round(({amount}) * 100)::bigint"

    def days_between(self, start: str, end: str) -> str:
        if self.vendor == "sqlite":
            return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"
        return f"({end} - {start})"

    def add_days(self, day: str, days: str) -> str:
        """A date `days` (an integer expression) after `day`."""
        if self.vendor == "sqlite":
            return f"date({day}, '+' || ({days}) || ' days')"
        return f"(({day}) + ({days}))"

    def flag(self, value: str) -> str:
        """A boolean column as 0/1."""
        if self.vendor == "sqlite":
            return f"({value})"
        return f"({value})::int"


# -- statements shared by both dialects (r = the row: NEW or OLD) -----------------------------


def add_deal(d: Dialect, r: str) -> list[str]:
    values = (
        f"{d.cents(f'{r}.amount')}, CASE WHEN {r}.created_on IS NULL THEN 0 ELSE 1 END, "
        f"coalesce({d.days_between(f'{r}.created_on', f'{r}.closed_on')}, 0)"
    )
    cond = f"{r}.deleted_at IS NULL AND {r}.status IN {CLOSED}"
    return [
        f"INSERT INTO analytics_dealday (owner_id, pipeline_id, status, day, currency_id, n, "
        f"cents, cycle_n, cycle_days) SELECT coalesce({r}.owner_id, 0), {r}.pipeline_id, "
        f"{r}.status, {r}.closed_on, {r}.currency_id, 1, {values} WHERE {cond} "
        f"ON CONFLICT {DEAL_KEY} DO UPDATE SET {DEAL_SUMS.format(t='analytics_dealday')}",
        f"INSERT INTO analytics_orgdealday (pipeline_id, status, day, currency_id, n, cents, "
        f"cycle_n, cycle_days) SELECT {r}.pipeline_id, {r}.status, {r}.closed_on, "
        f"{r}.currency_id, 1, {values} WHERE {cond} "
        f"ON CONFLICT {ORG_DEAL_KEY} DO UPDATE SET {DEAL_SUMS.format(t='analytics_orgdealday')}",
    ]


def sub_deal(d: Dialect, r: str) -> list[str]:
    cond = f"{r}.deleted_at IS NULL AND {r}.status IN {CLOSED}"
    sets = (
        f"n = n - 1, cents = cents - {d.cents(f'{r}.amount')}, "
        f"cycle_n = cycle_n - CASE WHEN {r}.created_on IS NULL THEN 0 ELSE 1 END, "
        f"cycle_days = cycle_days - coalesce({d.days_between(f'{r}.created_on', f'{r}.closed_on')}, 0)"
    )
    org_key = (
        f"status = {r}.status AND day = {r}.closed_on AND pipeline_id = {r}.pipeline_id "
        f"AND currency_id = {r}.currency_id"
    )
    key = f"owner_id = coalesce({r}.owner_id, 0) AND {org_key}"
    return [
        f"UPDATE analytics_dealday SET {sets} WHERE {key} AND {cond}",
        f"DELETE FROM analytics_dealday WHERE {key} AND n = 0",
        f"UPDATE analytics_orgdealday SET {sets} WHERE {org_key} AND {cond}",
        f"DELETE FROM analytics_orgdealday WHERE {org_key} AND n = 0",
    ]


def add_followup(d: Dialect, r: str) -> list[str]:
    return [
        f"INSERT INTO analytics_followupday (owner_id, day, total, touch) "
        f"SELECT coalesce({r}.owner_id, 0), {d.day(f'{r}.occurred_at')}, 1, "
        f"CASE WHEN {r}.kind IN {TOUCH} THEN 1 ELSE 0 END WHERE {r}.deleted_at IS NULL "
        f"ON CONFLICT (owner_id, day) DO UPDATE SET "
        f"total = analytics_followupday.total + excluded.total, "
        f"touch = analytics_followupday.touch + excluded.touch"
    ]


def sub_followup(d: Dialect, r: str) -> list[str]:
    key = f"owner_id = coalesce({r}.owner_id, 0) AND day = {d.day(f'{r}.occurred_at')}"
    return [
        f"UPDATE analytics_followupday SET total = total - 1, "
        f"touch = touch - CASE WHEN {r}.kind IN {TOUCH} THEN 1 ELSE 0 END "
        f"WHERE {key} AND {r}.deleted_at IS NULL",
        f"DELETE FROM analytics_followupday WHERE {key} AND total = 0",
    ]


def add_stay(d: Dialect, r: str) -> list[str]:
    """One stage-history row, counted under its deal's pipeline when the deal is not
    deleted; and the pair noted when the deal has been in that stage before."""
    hour = d.hour(f"{r}.entered_at")
    adv = d.flag(f"{r}.advanced")
    return [
        f"INSERT INTO analytics_orgstageentryhour (stage_id, pipeline_id, hour, entered, "
        f"advanced) SELECT {r}.stage_id, x.pipeline_id, {hour}, 1, {adv} FROM crm_deal x "
        f"WHERE x.id = {r}.deal_id AND x.deleted_at IS NULL ON CONFLICT {ORG_STAGE_KEY} "
        f"DO UPDATE SET {STAGE_SUMS.format(t='analytics_orgstageentryhour')}",
        f"INSERT INTO analytics_stagereentry (deal_id, stage_id) SELECT {r}.deal_id, "
        f"{r}.stage_id WHERE EXISTS (SELECT 1 FROM crm_stagehistory h WHERE h.deal_id = "
        f"{r}.deal_id AND h.stage_id = {r}.stage_id AND h.id <> {r}.id) "
        f"ON CONFLICT (deal_id, stage_id) DO NOTHING",
    ]


def sub_stay(d: Dialect, r: str) -> list[str]:
    hour = d.hour(f"{r}.entered_at")
    adv = d.flag(f"{r}.advanced")
    key = (
        f"stage_id = {r}.stage_id AND hour = {hour} AND pipeline_id IN (SELECT x.pipeline_id "
        f"FROM crm_deal x WHERE x.id = {r}.deal_id AND x.deleted_at IS NULL)"
    )
    return [
        f"UPDATE analytics_orgstageentryhour SET entered = entered - 1, "
        f"advanced = advanced - {adv} WHERE {key}",
        f"DELETE FROM analytics_orgstageentryhour WHERE {key} AND entered = 0",
    ]


def add_deal_stays(d: Dialect, r: str) -> list[str]:
    """All stage-history rows of a deal, added under its (new) pipeline."""
    hour = d.hour("h.entered_at")
    adv = d.flag("h.advanced")
    return [
        f"INSERT INTO analytics_orgstageentryhour (stage_id, pipeline_id, hour, entered, "
        f"advanced) SELECT h.stage_id, {r}.pipeline_id, {hour}, count(*), sum({adv}) "
        f"FROM crm_stagehistory h WHERE h.deal_id = {r}.id AND {r}.deleted_at IS NULL "
        f"GROUP BY h.stage_id, {hour} ON CONFLICT {ORG_STAGE_KEY} "
        f"DO UPDATE SET {STAGE_SUMS.format(t='analytics_orgstageentryhour')}",
    ]


def sub_deal_stays(d: Dialect, r: str) -> list[str]:
    """All stage-history rows of a deal, taken away from its (old) pipeline."""
    t = "analytics_orgstageentryhour"
    match = (
        f"h.deal_id = {r}.id AND h.stage_id = {t}.stage_id AND {d.hour('h.entered_at')} = {t}.hour"
    )
    where = (
        f"pipeline_id = {r}.pipeline_id AND {r}.deleted_at IS NULL AND "
        f"(stage_id, hour) IN (SELECT h.stage_id, {d.hour('h.entered_at')} "
        f"FROM crm_stagehistory h WHERE h.deal_id = {r}.id)"
    )
    return [
        f"UPDATE {t} SET entered = entered - (SELECT count(*) FROM crm_stagehistory h "
        f"WHERE {match}), advanced = advanced - (SELECT count(*) FROM crm_stagehistory h "
        f"WHERE {match} AND h.advanced) WHERE {where}",
        f"DELETE FROM {t} WHERE pipeline_id = {r}.pipeline_id AND entered = 0",
    ]


#: The organisation's activity window in days (one organisation per instance).
WINDOW = "(SELECT coalesce(max(activity_window_days), 365) FROM org_organisation)"
WON_LIVE = "{r}.status = 'won' AND {r}.deleted_at IS NULL AND {r}.closed_on IS NOT NULL"


def spells_select(d: Dialect, customer: str | None, only_if: str = "") -> str:
    """The merged activity spells (customer, start, end, first) of one customer (an SQL
    expression), or of every customer (None): each won close day x covers [x, x + W);
    a close day later than the end of the previous day's stretch starts a new spell.
    `only_if`: a condition under which the statement yields anything at all."""
    where = "status = 'won' AND deleted_at IS NULL AND closed_on IS NOT NULL"
    if customer is None:
        who = "customer_id"
        where += " AND customer_id IS NOT NULL"
    else:
        who = customer
        where += f" AND customer_id = {customer}"
    previous = d.add_days("lag(w.d) OVER (PARTITION BY w.c ORDER BY w.d)", WINDOW)
    return (
        f"SELECT k.c, min(k.d), {d.add_days('max(k.d)', WINDOW)}, (min(k.grp) = 1) FROM ("
        "SELECT g.c, g.d, sum(g.brk) OVER (PARTITION BY g.c ORDER BY g.d) AS grp FROM ("
        f"SELECT w.c, w.d, CASE WHEN {previous} >= w.d THEN 0 ELSE 1 END AS brk "
        f"FROM (SELECT DISTINCT {who} AS c, closed_on AS d FROM crm_deal WHERE {where}) w"
        f") g) k{f' WHERE {only_if}' if only_if else ''} GROUP BY k.c, k.grp"
    )


def respell(d: Dialect, r: str) -> list[str]:
    """Recompute the spells of the customer of row r (NEW or OLD) when r is a won deal
    that counts (the statements do nothing otherwise)."""
    cond = WON_LIVE.format(r=r) + f" AND {r}.customer_id IS NOT NULL"
    return [
        f"DELETE FROM analytics_customerspell WHERE customer_id = {r}.customer_id AND {cond}",
        "INSERT INTO analytics_customerspell (customer_id, start_day, end_day, first) "
        + spells_select(d, f"{r}.customer_id", cond),
    ]


def respell_all(d: Dialect) -> list[str]:
    return [
        "DELETE FROM analytics_customerspell",
        "INSERT INTO analytics_customerspell (customer_id, start_day, end_day, first) "
        + spells_select(d, None),
    ]


# -- the triggers ------------------------------------------------------------------------------

DEAL_FIELDS = ["owner_id", "pipeline_id", "status", "closed_on", "currency_id", "amount",
               "created_on", "deleted_at"]  # fmt: skip
DEAL_SCOPE_FIELDS = ["pipeline_id", "deleted_at"]
FOLLOWUP_FIELDS = ["owner_id", "occurred_at", "kind", "deleted_at"]
STAY_FIELDS = ["deal_id", "stage_id", "entered_at", "advanced"]
SPELL_FIELDS = ["customer_id", "status", "closed_on", "deleted_at"]

#: (trigger name, table, event, fields whose change matters, statements(dialect))
TRIGGERS = [
    ("analytics_deal_ins", "crm_deal", "INSERT", [], lambda d: add_deal(d, "NEW")),
    ("analytics_deal_del", "crm_deal", "DELETE", [], lambda d: sub_deal(d, "OLD")),
    ("analytics_deal_upd", "crm_deal", "UPDATE", DEAL_FIELDS,
     lambda d: sub_deal(d, "OLD") + add_deal(d, "NEW")),
    ("analytics_deal_scope", "crm_deal", "UPDATE", DEAL_SCOPE_FIELDS,
     lambda d: sub_deal_stays(d, "OLD") + add_deal_stays(d, "NEW")),
    ("analytics_spell_ins", "crm_deal", "INSERT", [], lambda d: respell(d, "NEW")),
    ("analytics_spell_del", "crm_deal", "DELETE", [], lambda d: respell(d, "OLD")),
    ("analytics_spell_upd", "crm_deal", "UPDATE", SPELL_FIELDS,
     lambda d: respell(d, "OLD") + respell(d, "NEW")),
    ("analytics_spell_window", "org_organisation", "UPDATE", ["activity_window_days"],
     respell_all),
    ("analytics_followup_ins", "activities_followup", "INSERT", [],
     lambda d: add_followup(d, "NEW")),
    ("analytics_followup_del", "activities_followup", "DELETE", [],
     lambda d: sub_followup(d, "OLD")),
    ("analytics_followup_upd", "activities_followup", "UPDATE", FOLLOWUP_FIELDS,
     lambda d: sub_followup(d, "OLD") + add_followup(d, "NEW")),
    ("analytics_stay_ins", "crm_stagehistory", "INSERT", [], lambda d: add_stay(d, "NEW")),
    ("analytics_stay_del", "crm_stagehistory", "DELETE", [], lambda d: sub_stay(d, "OLD")),
    ("analytics_stay_upd", "crm_stagehistory", "UPDATE", STAY_FIELDS,
     lambda d: sub_stay(d, "OLD") + add_stay(d, "NEW")),
]  # fmt: skip


def _changed(fields: list[str], vendor: str) -> str:
    op = "IS NOT" if vendor == "sqlite" else "IS DISTINCT FROM"
    return " OR ".join(f"OLD.{f} {op} NEW.{f}" for f in fields)


def create_statements(vendor: str) -> list[str]:
    d = Dialect(vendor)
    out = []
    for name, table, event, fields, body in TRIGGERS:
        statements = body(d)
        of = f" OF {', '.join(fields)}" if fields else ""
        if vendor == "sqlite":
            when = f" WHEN {_changed(fields, vendor)}" if fields else ""
            out.append(
                f"CREATE TRIGGER {name} AFTER {event}{of} ON {table} FOR EACH ROW{when} "
                f"BEGIN {'; '.join(statements)}; END"
            )
        else:
            when = f" WHEN ({_changed(fields, vendor)})" if fields else ""
            out.append(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"{'; '.join(statements)}; RETURN NULL; END $$"
            )
            out.append(
                f"CREATE TRIGGER {name} AFTER {event}{of} ON {table} FOR EACH ROW{when} "
                f"EXECUTE FUNCTION {name}()"
            )
    return out


def drop_statements(vendor: str) -> list[str]:
    out = []
    for name, table, *_rest in TRIGGERS:
        if vendor == "sqlite":
            out.append(f"DROP TRIGGER IF EXISTS {name}")
        else:
            out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            out.append(f"DROP FUNCTION IF EXISTS {name}()")
    return out


def rebuild_statements(vendor: str) -> list[str]:
    """Empty the roll-ups and fill them from the base tables."""
    d = Dialect(vendor)
    cycle = d.days_between("created_on", "closed_on")
    stay_hour = d.hour("h.entered_at")
    return [f"DELETE FROM {t}" for t in TABLES] + [
        "INSERT INTO analytics_dealday (owner_id, pipeline_id, status, day, currency_id, n, "
        f"cents, cycle_n, cycle_days) SELECT coalesce(owner_id, 0), pipeline_id, status, "
        f"closed_on, currency_id, count(*), sum({d.cents('amount')}), count(created_on), "
        f"coalesce(sum({cycle}), 0) FROM crm_deal WHERE deleted_at IS NULL "
        f"AND status IN {CLOSED} GROUP BY 1, 2, 3, 4, 5",
        "INSERT INTO analytics_orgdealday (pipeline_id, status, day, currency_id, n, cents, "
        "cycle_n, cycle_days) SELECT pipeline_id, status, day, currency_id, sum(n), "
        "sum(cents), sum(cycle_n), sum(cycle_days) FROM analytics_dealday GROUP BY 1, 2, 3, 4",
        "INSERT INTO analytics_followupday (owner_id, day, total, touch) SELECT "
        f"coalesce(owner_id, 0), {d.day('occurred_at')}, count(*), sum(CASE WHEN kind IN "
        f"{TOUCH} THEN 1 ELSE 0 END) FROM activities_followup WHERE deleted_at IS NULL "
        "GROUP BY 1, 2",
        "INSERT INTO analytics_orgstageentryhour (stage_id, pipeline_id, hour, entered, "
        f"advanced) SELECT h.stage_id, x.pipeline_id, {stay_hour}, count(*), "
        f"sum({d.flag('h.advanced')}) FROM crm_stagehistory h JOIN crm_deal x "
        "ON x.id = h.deal_id WHERE x.deleted_at IS NULL GROUP BY 1, 2, 3",
        "INSERT INTO analytics_stagereentry (deal_id, stage_id) SELECT deal_id, stage_id "
        "FROM crm_stagehistory GROUP BY deal_id, stage_id HAVING count(*) > 1",
        *respell_all(d)[1:],
    ]


def _run(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    with connection.cursor() as cur:
        for sql in statements:
            cur.execute(sql)


def install(connection: BaseDatabaseWrapper) -> None:
    _run(connection, drop_statements(connection.vendor) + create_statements(connection.vendor))


def uninstall(connection: BaseDatabaseWrapper) -> None:
    _run(connection, drop_statements(connection.vendor))


def rebuild(connection: BaseDatabaseWrapper) -> None:
    _run(connection, rebuild_statements(connection.vendor))


def missing(connection: BaseDatabaseWrapper) -> list[str]:
    """The roll-up triggers absent from the database."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cur.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        present = {row[0] for row in cur.fetchall()}
    return [name for name, *_rest in TRIGGERS if name not in present]


def ensure(connection: BaseDatabaseWrapper) -> bool:
    """Create the triggers and rebuild the roll-ups when any trigger is missing (after a
    migrate that dropped them, see `apps`). Triggers first, in one transaction: on
    PostgreSQL creating them holds writers off until the rebuild commits, so no write
    goes uncounted. Returns whether it had to."""
    tables = set(connection.introspection.table_names())
    if not {"analytics_dealday", "crm_deal"} <= tables or not missing(connection):
        return False
    with transaction.atomic(using=connection.alias):
        install(connection)
        rebuild(connection)
        # fresh statistics, or the planner guesses at the refilled tables
        _run(connection, [f"ANALYZE {t}" for t in TABLES])
    return True


def drop_for_migrate(connection: BaseDatabaseWrapper) -> None:
    """Before migrations that touch the tables the triggers read: drop them (SQLite
    rebuilds a table to alter it and refuses while a trigger names it)."""
    if "crm_deal" in set(connection.introspection.table_names()):
        uninstall(connection)


@contextmanager
def suspended(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """For a bulk load inside one transaction: no triggers during the load, then the
    roll-ups rebuilt from the loaded rows and the triggers back. If the load fails the
    caller's transaction rolls back, and with it the dropped triggers (DDL is
    transactional on both databases); nothing is rebuilt then."""
    uninstall(connection)
    yield
    rebuild(connection)
    install(connection)
    _run(connection, [f"ANALYZE {t}" for t in TABLES])
