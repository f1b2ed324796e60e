"""The public pool's reclaim and warning rules (公海回收), with hand-computed dates.

The organisation's time zone is Asia/Shanghai (UTC+8): business dates are Shanghai dates.
"""

import datetime as dt
import itertools
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from salesops.crm import pool
from salesops.crm.models import Customer, PoolEvent, PoolRule
from salesops.crm.tests.factories import CustomerFactory
from salesops.notifications.models import Notification
from salesops.notifications.render import as_recipient
from salesops.users.tests.factories import UserFactory

SH = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC


def at(y, m, d, h=12, mi=0, tz=SH):
    return dt.datetime(y, m, d, h, mi, tzinfo=tz)


def rule(**kw):
    kw.setdefault("name", "Org rule")
    return PoolRule.objects.create(**kw)


def owned(owner, *, since, followup=None, won=None, **kw):
    return CustomerFactory(
        owner=owner, owned_since=since, last_followup_at=followup, last_won_on=won, **kw
    )


# -- the rule for one customer -----------------------------------------------------------


def test_the_followup_rule_counts_from_the_last_followup_as_a_business_date(cast):
    r = rule(reclaim_after_days_without_followup=30)
    # 17:00 UTC on 10 January is 01:00 on 11 January in Shanghai: the 11th counts.
    c = owned(cast.rep, since=at(2025, 1, 1, 10), followup=dt.datetime(2025, 1, 10, 17, tzinfo=UTC))
    assert pool.reclaim_due_on(customer=c, rule=r) == dt.date(2025, 2, 10)


def test_a_customer_never_followed_up_counts_from_the_day_the_rep_took_it(cast):
    r = rule(reclaim_after_days_without_followup=30)
    c = owned(cast.rep, since=at(2025, 1, 1, 23, 59))
    assert pool.reclaim_due_on(customer=c, rule=r) == dt.date(2025, 1, 31)


def test_a_followup_before_the_rep_took_the_customer_does_not_count_against_them(cast):
    r = rule(reclaim_after_days_without_followup=30)
    c = owned(cast.rep, since=at(2025, 3, 1), followup=at(2025, 2, 1))
    assert pool.reclaim_due_on(customer=c, rule=r) == dt.date(2025, 3, 31)


def test_the_won_deal_rule_counts_from_the_later_of_taking_it_and_the_last_win(cast):
    r = rule(reclaim_after_days_without_won_deal=90)
    won_later = owned(cast.rep, since=at(2025, 1, 1), won=dt.date(2025, 2, 15))
    never_won = owned(cast.rep, since=at(2025, 1, 1))
    won_before = owned(cast.rep, since=at(2025, 1, 1), won=dt.date(2024, 6, 1))
    assert pool.reclaim_due_on(customer=won_later, rule=r) == dt.date(2025, 5, 16)
    assert pool.reclaim_due_on(customer=never_won, rule=r) == dt.date(2025, 4, 1)
    assert pool.reclaim_due_on(customer=won_before, rule=r) == dt.date(2025, 4, 1)


def test_the_earlier_of_both_rules_wins(cast):
    r = rule(reclaim_after_days_without_followup=30, reclaim_after_days_without_won_deal=20)
    # follow-up rule: 5 Jan + 30 = 4 Feb; won-deal rule: 1 Jan + 20 = 21 Jan.
    c = owned(cast.rep, since=at(2025, 1, 1), followup=at(2025, 1, 5))
    assert pool.reclaim_due_on(customer=c, rule=r) == dt.date(2025, 1, 21)
    # A win on 20 Jan moves the won-deal date to 9 Feb: the follow-up rule is now earlier.
    c.last_won_on = dt.date(2025, 1, 20)
    assert pool.reclaim_due_on(customer=c, rule=r) == dt.date(2025, 2, 4)


def test_a_teams_rule_beats_the_organisation_rule_down_its_subtree(cast):
    org_rule = rule(reclaim_after_days_without_followup=30)
    east_rule = rule(name="East", team=cast.east, reclaim_after_days_without_followup=10)
    assert pool.rule_for_user(cast.rep) == east_rule
    assert pool.rule_for_user(cast.rep_east1) == east_rule
    assert pool.rule_for_user(cast.outsider) == org_rule
    assert pool.rule_for_user(cast.admin) == org_rule  # no team

    since = at(2025, 1, 1)
    east = owned(cast.rep, since=since)
    east1 = owned(cast.rep_east1, since=since)
    west = owned(cast.outsider, since=since)
    no_team = owned(cast.admin, since=since)
    due = set(pool.customers_due_for_reclaim(now=at(2025, 1, 11, 9)))
    assert due == {east, east1}
    due = set(pool.customers_due_for_reclaim(now=at(2025, 1, 31, 9)))
    assert due == {east, east1, west, no_team}


def test_without_a_rule_a_customer_never_returns(cast):
    c = owned(cast.rep, since=at(2020, 1, 1))
    assert pool.reclaim_due_on(customer=c, rule=None) is None
    assert pool.days_left(customer=c) is None
    assert not pool.customers_due_for_reclaim(now=at(2025, 1, 1)).exists()
    assert pool.reclaim_customers(now=at(2025, 1, 1)) == 0
    rule(name="Cap only", max_customers_per_rep=50)
    assert pool.reclaim_due_on(customer=c, rule=PoolRule.objects.get()) is None
    assert pool.reclaim_customers(now=at(2025, 1, 1)) == 0
    c.refresh_from_db()
    assert c.owner == cast.rep


def test_an_inactive_rule_does_not_apply(cast):
    rule(reclaim_after_days_without_followup=1, active=False)
    owned(cast.rep, since=at(2020, 1, 1))
    assert pool.reclaim_customers(now=at(2025, 1, 1)) == 0


def test_days_left_counts_down_to_the_due_date_and_stops_at_zero(cast):
    r = rule(reclaim_after_days_without_followup=30)
    c = owned(cast.rep, since=at(2025, 1, 1))
    assert pool.days_left(customer=c, today=dt.date(2025, 1, 25)) == 6
    assert pool.days_left(customer=c, rule=r, today=dt.date(2025, 1, 31)) == 0
    assert pool.days_left(customer=c, today=dt.date(2025, 2, 5)) == 0
    in_pool = CustomerFactory(owner=None, owned_since=None, pool_entered_at=at(2025, 1, 1))
    assert pool.days_left(customer=in_pool) is None


def test_the_set_based_queries_agree_with_the_rule_for_one_customer(cast):
    """Every combination of dates near the boundaries (including Shanghai midnight),
    checked on several days: the QuerySets select exactly what `reclaim_due_on` says."""
    r = rule(
        reclaim_after_days_without_followup=10,
        reclaim_after_days_without_won_deal=15,
        warning_days=3,
    )
    starts = [
        at(2025, 1, 1, 0, 0),
        at(2025, 1, 3, 23, 59),
        dt.datetime(2025, 1, 2, 16, 0, tzinfo=UTC),
    ]
    followups = [
        None,
        at(2025, 1, 6, 0, 1),
        dt.datetime(2025, 1, 7, 15, 59, tzinfo=UTC),
        at(2024, 12, 1),
    ]
    wins = [None, dt.date(2025, 1, 5), dt.date(2024, 12, 30)]
    customers = [
        owned(cast.rep, since=s, followup=f, won=w)
        for s, f, w in itertools.product(starts, followups, wins)
    ]
    legacy = CustomerFactory(owner=cast.rep, owned_since=None, created_at=at(2025, 1, 2))
    customers.append(legacy)
    for day in range(8, 18):
        now = at(2025, 1, day, 9)
        today = dt.date(2025, 1, day)
        expected_due, expected_warn = set(), set()
        for c in customers:
            due_on = pool.reclaim_due_on(customer=c, rule=r)
            if due_on <= today:
                expected_due.add(c.pk)
            elif due_on <= today + dt.timedelta(days=3):
                expected_warn.add(c.pk)
        assert set(pool.customers_due_for_reclaim(now=now).values_list("pk", flat=True)) == (
            expected_due
        ), today
        assert set(pool.customers_due_for_warning(now=now).values_list("pk", flat=True)) == (
            expected_warn
        ), today
    assert pool.reclaim_due_on(customer=legacy, rule=r) == dt.date(2025, 1, 12)


# -- the daily reclaim -------------------------------------------------------------------


def test_reclaim_moves_exactly_the_due_customers_with_history_and_a_notice(cast):
    rule(reclaim_after_days_without_followup=30)
    cast.rep.language = "en"
    cast.rep.save()
    now = at(2025, 2, 1, 0, 30)
    due = owned(cast.rep, since=at(2024, 12, 1), followup=at(2025, 1, 1), name="Acme Ltd")
    fresh = owned(cast.rep, since=at(2024, 12, 1), followup=at(2025, 1, 3))
    deleted = owned(cast.rep, since=at(2024, 12, 1))
    deleted.soft_delete()
    in_pool = CustomerFactory(owner=None, owned_since=None, pool_entered_at=at(2024, 6, 1))
    version = due.version

    assert pool.reclaim_customers(now=now) == 1

    due.refresh_from_db()
    assert due.owner is None
    assert due.pool_entered_at == now
    assert due.owned_since is None
    assert due.version == version + 1
    event = PoolEvent.objects.get(customer=due)
    assert (event.kind, event.user) == (PoolEvent.Kind.RECLAIMED, cast.rep)
    assert "30" in event.reason
    note = Notification.objects.get(recipient=cast.rep)
    assert note.kind == "pool_reclaimed"
    assert "Acme Ltd" in as_recipient(note)
    assert "public pool" in as_recipient(note)

    fresh.refresh_from_db()
    assert fresh.owner == cast.rep
    deleted = Customer.all_objects.get(pk=deleted.pk)
    assert deleted.owner == cast.rep
    assert deleted.is_deleted
    in_pool.refresh_from_db()
    assert in_pool.pool_entered_at == at(2024, 6, 1)
    assert PoolEvent.objects.count() == 1


def test_running_reclaim_again_changes_nothing(cast):
    rule(reclaim_after_days_without_followup=30)
    owned(cast.rep, since=at(2024, 12, 1))
    now = at(2025, 2, 1)
    assert pool.reclaim_customers(now=now) == 1
    assert pool.reclaim_customers(now=now) == 0
    assert PoolEvent.objects.count() == 1
    assert Notification.objects.count() == 1


def test_reclaim_leaves_a_customer_whose_owner_changed_after_it_was_selected(cast):
    r = rule(reclaim_after_days_without_followup=30)
    c = owned(cast.rep, since=at(2024, 12, 1))
    snapshot = Customer.objects.get(pk=c.pk)
    # A manager hands it to someone else between the selection and the update.
    Customer.objects.filter(pk=c.pk).update(owner=cast.outsider, owned_since=at(2025, 1, 31))
    assert pool.reclaim_customer(customer=snapshot, rule=r, now=at(2025, 2, 1)) is False
    c.refresh_from_db()
    assert c.owner == cast.outsider
    assert not PoolEvent.objects.exists()
    assert not Notification.objects.exists()


def test_reclaim_leaves_a_customer_followed_up_after_it_was_selected(cast):
    r = rule(reclaim_after_days_without_followup=30)
    c = owned(cast.rep, since=at(2024, 12, 1))
    snapshot = Customer.objects.get(pk=c.pk)
    Customer.objects.filter(pk=c.pk).update(last_followup_at=at(2025, 1, 31))
    assert pool.reclaim_customer(customer=snapshot, rule=r, now=at(2025, 2, 1)) is False
    c.refresh_from_db()
    assert c.owner == cast.rep


def test_the_daily_run_skips_customers_taken_over_while_it_works(cast, monkeypatch):
    rule(reclaim_after_days_without_followup=30)
    taken = owned(cast.rep, since=at(2024, 12, 1))
    lost = owned(cast.rep, since=at(2024, 12, 1))
    pages = pool._pages

    def racing_pages(q):
        for page in pages(q):
            # Another worker (or a person) gets to one of them first.
            Customer.objects.filter(pk=taken.pk).update(owner=cast.teammate)
            yield page

    monkeypatch.setattr(pool, "_pages", racing_pages)
    assert pool.reclaim_customers(now=at(2025, 2, 1)) == 1
    taken.refresh_from_db()
    lost.refresh_from_db()
    assert taken.owner == cast.teammate
    assert lost.owner is None
    assert list(PoolEvent.objects.values_list("customer_id", flat=True)) == [lost.pk]


# -- warnings ----------------------------------------------------------------------------


def test_an_owner_is_warned_once_per_customer_and_due_date(cast):
    rule(reclaim_after_days_without_followup=30, warning_days=3)
    cast.rep.language = "en"
    cast.rep.save()
    c = owned(cast.rep, since=at(2025, 1, 1), name="Globex")  # due 31 Jan

    assert pool.warn_customers(now=at(2025, 1, 27)) == 0  # 4 days ahead: too early
    assert pool.warn_customers(now=at(2025, 1, 28)) == 1
    assert pool.warn_customers(now=at(2025, 1, 28)) == 0
    assert pool.warn_customers(now=at(2025, 1, 30)) == 0
    assert pool.warn_customers(now=at(2025, 1, 31)) == 0  # due today: the reclaim's turn
    note = Notification.objects.get()
    assert (note.recipient, note.kind) == (cast.rep, "pool_warning")
    assert note.key == f"pool-warning:{c.pk}:2025-01-31"
    assert "Globex" in as_recipient(note)
    assert "3 days" in as_recipient(note)

    # A follow-up on 29 January moves the date to 28 February: a new warning then.
    Customer.objects.filter(pk=c.pk).update(last_followup_at=at(2025, 1, 29))
    assert pool.warn_customers(now=at(2025, 2, 24)) == 0
    assert pool.warn_customers(now=at(2025, 2, 25)) == 1
    assert Notification.objects.filter(key=f"pool-warning:{c.pk}:2025-02-28").exists()


def test_warnings_go_to_each_owner_about_their_own_customers_only(cast):
    rule(reclaim_after_days_without_followup=30, warning_days=3)
    owned(cast.rep, since=at(2025, 1, 1), name="Mine")
    owned(cast.outsider, since=at(2025, 1, 2), name="Theirs")
    owned(cast.teammate, since=at(2025, 1, 20))  # not yet
    assert pool.warn_customers(now=at(2025, 1, 29)) == 2
    assert "Mine" in as_recipient(Notification.objects.get(recipient=cast.rep))
    assert "Theirs" in as_recipient(Notification.objects.get(recipient=cast.outsider))
    assert not Notification.objects.filter(recipient=cast.teammate).exists()


def test_no_warning_when_the_rule_warns_zero_days_ahead(cast):
    rule(reclaim_after_days_without_followup=30, warning_days=0)
    owned(cast.rep, since=at(2025, 1, 1))
    assert pool.warn_customers(now=at(2025, 1, 30)) == 0


def test_a_new_owner_gets_warnings_in_their_own_language(cast):
    rule(reclaim_after_days_without_followup=30, warning_days=3)
    en = UserFactory(team=cast.east, language="en")
    owned(en, since=at(2025, 1, 1), name="Initech")
    assert pool.warn_customers(now=at(2025, 1, 29)) == 1
    message = as_recipient(Notification.objects.get(recipient=en))
    assert message.startswith("Customer “Initech” returns to the public pool on")
    assert "Log a follow-up to keep it." in message


def test_each_owner_reads_the_notice_in_their_own_language(cast, settings):
    catalogue = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES" / "django.mo"
    if not catalogue.exists():
        pytest.skip("the zh-Hans catalogue is not compiled (make compiles it)")
    rule(reclaim_after_days_without_followup=30)
    cast.rep.language = "zh-hans"
    cast.rep.save()
    cast.outsider.language = "en"
    cast.outsider.save()
    owned(cast.rep, since=at(2024, 12, 1), name="甲公司")
    owned(cast.outsider, since=at(2024, 12, 1), name="Beta Inc")
    assert pool.reclaim_customers(now=at(2025, 2, 1)) == 2
    zh = as_recipient(Notification.objects.get(recipient=cast.rep))
    en = as_recipient(Notification.objects.get(recipient=cast.outsider))
    assert "甲公司" in zh
    assert "公海" in zh
    assert en == "Customer “Beta Inc” has returned to the public pool: no follow-up for 30 days."
