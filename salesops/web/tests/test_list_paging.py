"""Keyset paging: walking a list page by page shows every row exactly once, in the
order of the sort column with empty values last and ties broken by id, in both
directions, on both databases; and a list page costs the same queries on page 1 as on
page 3."""

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesops.crm.models import Deal
from salesops.crm.tests.factories import CustomerFactory, DealFactory, PipelineFactory
from salesops.web.listing import encode_cursor, page_of


def walk(qs, sort, descending, size, few=False):
    """Every page's rows in order, and how many pages there were."""
    seen, cursor, pages = [], None, 0
    while True:
        rows, cursor = page_of(
            qs, sort=sort, descending=descending, cursor=cursor, size=size, few=few
        )
        pages += 1
        seen += [r.pk for r in rows]
        if cursor is None:
            return seen, pages
        assert pages < 100, "paging does not end"


def expected(deals, sort, descending):
    """The order a user expects: by the value (newest/largest first when descending),
    rows without a value after all the others, ties by id in the same direction."""
    with_value = [d for d in deals if getattr(d, sort) is not None]
    without = [d for d in deals if getattr(d, sort) is None]
    with_value.sort(key=lambda d: (getattr(d, sort), d.pk), reverse=descending)
    without.sort(key=lambda d: d.pk, reverse=descending)
    return [d.pk for d in with_value + without]


@pytest.fixture
def deals(cast):
    """Deals with repeated and missing close dates and repeated amounts."""
    pipeline = PipelineFactory()
    customer = CustomerFactory(owner=cast.rep)
    days = [None, dt.date(2026, 1, 5), dt.date(2026, 1, 5), None, dt.date(2025, 12, 1)]
    out = []
    for i in range(23):
        out.append(
            DealFactory(
                owner=cast.rep,
                customer=customer,
                pipeline=pipeline,
                expected_close=days[i % len(days)],
                amount=[100, 250, 100][i % 3],
                name=f"Deal {i % 4}",
            )
        )
    return out


@pytest.mark.parametrize("few", [False, True], ids=["along-the-index", "sorted-after-filter"])
@pytest.mark.parametrize("sort", ["expected_close", "amount", "name", "id"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("size", [1, 4, 7, 50])
def test_walking_every_page_shows_each_row_once_in_the_expected_order(
    deals, sort, descending, size, few
):
    got, pages = walk(Deal.objects.all(), sort, descending, size, few)
    assert got == expected(deals, sort, descending)
    assert pages == max(1, -(-len(deals) // size))


def test_a_page_boundary_inside_the_rows_without_a_value_continues_there(deals):
    """The cursor of a row without a close date leads to the next such rows only."""
    without = sorted((d for d in deals if d.expected_close is None), key=lambda d: d.pk)
    rows, cursor = page_of(
        Deal.objects.all(),
        sort="expected_close",
        descending=False,
        cursor=encode_cursor("expected_close", False, without[1]),
        size=100,
    )
    assert [r.pk for r in rows] == [d.pk for d in without[2:]]
    assert cursor is None


def test_a_cursor_for_another_sort_or_a_garbled_one_starts_from_the_top(deals):
    first, _ = page_of(Deal.objects.all(), sort="amount", descending=True, cursor=None, size=5)
    for cursor in (encode_cursor("name", False, deals[3]), "not-a-cursor", "W10"):
        rows, _ = page_of(Deal.objects.all(), sort="amount", descending=True, cursor=cursor, size=5)
        assert [r.pk for r in rows] == [r.pk for r in first]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    closes=st.lists(st.sampled_from([None, 1, 2, 3]), min_size=0, max_size=12),
    size=st.integers(min_value=1, max_value=5),
    descending=st.booleans(),
    few=st.booleans(),
)
def test_any_mix_of_ties_and_empty_values_pages_completely(cast, closes, size, descending, few):
    Deal.all_objects.all().delete()
    pipeline = PipelineFactory()
    customer = CustomerFactory(owner=cast.rep)
    made = [
        DealFactory(
            owner=cast.rep,
            customer=customer,
            pipeline=pipeline,
            expected_close=None if c is None else dt.date(2026, 1, c),
        )
        for c in closes
    ]
    got, _pages = walk(Deal.objects.all(), "expected_close", descending, size, few)
    assert got == expected(made, "expected_close", descending)


def test_paging_stays_within_what_the_user_may_see(world, signed_in):
    """Following "more" as the rep never reaches the outsider's deals."""
    for _i in range(7):
        DealFactory(owner=world.cast.outsider, pipeline=world.pipeline)
        DealFactory(owner=world.cast.rep, pipeline=world.pipeline)
    client = signed_in(world.cast.rep)
    mine = set(Deal.objects.visible_to(world.cast.rep).values_list("pk", flat=True))
    seen: list[int] = []
    url = reverse("deal_list") + "?sort=expected_close"
    for _page in itertools.count():
        response = client.get(url)
        rows = response.context["rows"]
        seen += [r["obj"].pk for r in rows]
        nxt = response.context["next_query"]
        if not nxt:
            break
        url = reverse("deal_list") + "?" + nxt
        assert _page < 50
    assert sorted(seen) == sorted(mine)


def test_the_third_page_costs_the_queries_of_the_first(world, signed_in, monkeypatch):
    from salesops.web.views.lists import DealList

    monkeypatch.setattr(DealList, "page_size", 2)
    for _i in range(8):
        DealFactory(owner=world.cast.rep, pipeline=world.pipeline, expected_close=None)
    client = signed_in(world.cast.rep)
    url = reverse("deal_list") + "?sort=-expected_close"
    client.get(url)
    with CaptureQueriesContext(connection) as first:
        response = client.get(url)
    nxt = response.context["next_query"]
    client.get(reverse("deal_list") + "?" + nxt)
    third_url = (
        reverse("deal_list")
        + "?"
        + client.get(reverse("deal_list") + "?" + nxt).context["next_query"]
    )
    with CaptureQueriesContext(connection) as third:
        client.get(third_url)
    assert len(third) <= len(first)
