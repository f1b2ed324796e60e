"""Global search: a record is found by a part of its name, phone or e-mail in any case,
only when the user may see it, newest first; the page costs the same queries whatever
it finds. The result set is checked against the plain `icontains` rule it replaced."""

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from salesops.crm import queries
from salesops.crm.models import Contact, Customer, Deal, Lead
from salesops.crm.tests.factories import (
    ContactFactory,
    CustomerFactory,
    DealFactory,
    LeadFactory,
)

MODELS = {"leads": Lead, "customers": Customer, "contacts": Contact, "deals": Deal}
WORDS = ["北京星辰科技", "Acme Trading", "acme labs", "13912345678", "sales@acme.cn", "上海远航"]


def plain_rule(user, kind, text):
    """What the user may see whose fields contain `text` in any case: the old search."""
    q = Q()
    for f in queries.search_paths(user, kind):
        q |= Q(**{f"{f}__icontains": text})
    model = MODELS[kind]
    return set(model.objects.visible_to(user).filter(q).values_list("pk", flat=True))


@pytest.fixture
def records(world):
    """Records with names, phones and e-mails mixing scripts and cases, for the rep
    (East), the outsider (West) and the pool."""
    cast = world.cast
    for i, word in enumerate(WORDS):
        for owner in (cast.rep, cast.outsider, None):
            customer = CustomerFactory(
                owner=owner,
                name=f"{word} 有限公司 {i}",
                phone=f"0571-8{i}{i}1234" if i % 2 else "",
                email=f"info{i}@{word.split()[0].lower()}.example" if i % 3 == 0 else "",
                pool_entered_at=None,
            )
            ContactFactory(
                customer=customer,
                owner=owner,
                name=f"张{word[:2]}",
                mobile=f"139{i:04d}5678",
                email=f"c{i}@Example.COM",
            )
            if owner is not None:
                LeadFactory(owner=owner, name=f"Lead {word}", company=word.upper(), phone=word)
                DealFactory(owner=owner, customer=customer, pipeline=world.pipeline, name=word)
    return world


TERMS = ["acme", "ACME", "科技", "星辰科技", "1391", "5678", "example.com", "EXAMPLE", "有限", "zz"]


@pytest.mark.parametrize("who", ["rep", "outsider", "manager", "admin", "analyst", "teammate"])
@pytest.mark.parametrize("text", TERMS)
def test_search_finds_what_the_plain_rule_finds_within_the_users_scope(records, who, text):
    user = getattr(records.cast, who)
    found = queries.global_search(user, text, limit=1000)
    for kind in MODELS:
        assert {r.pk for r in found[kind]} == plain_rule(user, kind, text), kind


def test_search_never_shows_another_teams_records(records):
    found = queries.global_search(records.cast.rep, "acme", limit=1000)
    owners = {r.owner_id for kind in MODELS for r in found[kind]}
    assert records.cast.outsider.pk not in owners
    assert owners <= {records.cast.rep.pk, None}


def test_search_shows_the_newest_first_and_at_most_the_limit(records):
    admin = records.cast.admin
    found = queries.global_search(admin, "acme", limit=2)
    for kind in MODELS:
        expected = sorted(plain_rule(admin, kind, "acme"), reverse=True)[:2]
        assert [r.pk for r in found[kind]] == expected, kind


def test_a_kind_the_role_may_not_view_is_not_searched(records):
    role = records.cast.rep.role
    role.rights = {k: v for k, v in role.rights.items() if k != "deal"}
    role.save()
    rep = type(records.cast.rep).objects.get(pk=records.cast.rep.pk)
    found = queries.global_search(rep, "acme", limit=1000)
    assert found["deals"] == []
    assert found["customers"]


@pytest.mark.parametrize("text", ["", " ", "a", " 科 "])
def test_a_term_shorter_than_two_characters_finds_nothing(records, text):
    found = queries.global_search(records.cast.admin, text)
    assert not any(found.values())


def test_the_search_page_says_when_the_term_is_too_short_or_nothing_is_visible(records, signed_in):
    client = signed_in(records.cast.rep)
    assert "Type at least two characters." in client.get(reverse("search"), {"q": "a"}).text
    assert "Nothing found that you may see." in client.get(reverse("search"), {"q": "qqq"}).text


def test_the_search_page_shows_own_records_and_not_the_outsiders(records, signed_in):
    rep_customer = Customer.objects.filter(owner=records.cast.rep, name__contains="Acme").first()
    west_customer = Customer.objects.filter(
        owner=records.cast.outsider, name__contains="Acme"
    ).first()
    html = signed_in(records.cast.rep).get(reverse("search"), {"q": "acme"}).text
    assert reverse("customer_detail", args=[rep_customer.pk]) in html
    assert reverse("customer_detail", args=[west_customer.pk]) not in html


def test_the_search_page_costs_the_same_queries_for_many_hits_as_for_few(records, signed_in):
    client = signed_in(records.cast.admin)

    def cost(text):
        client.get(reverse("search"), {"q": text})
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("search"), {"q": text}).status_code == 200
        return len(captured)

    # two characters: one query per kind (and two for the deals' stages and customers),
    # however many rows match
    base = cost("ac")
    assert cost("星辰") == base
    # longer terms may take the indexed path for rare terms: at most three more per kind
    for text in ("有限公司", "星辰科技", "zzzz"):
        assert cost(text) <= base + 3 * len(MODELS), text


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=st.text(alphabet="acmeACME科技星辰13956 @.", min_size=2, max_size=6))
def test_any_term_finds_exactly_what_the_plain_rule_finds(records, text):
    assume(len(text.strip()) >= 2)
    user = records.cast.manager
    found = queries.global_search(user, text, limit=1000)
    for kind in MODELS:
        assert {r.pk for r in found[kind]} == plain_rule(user, kind, text.strip()[:100]), kind


# -- the bounded search: terms no index answers -------------------------------------------


@pytest.fixture
def old_and_new(world, monkeypatch):
    """An old customer of the rep's named "Zephyr", then newer ones of other people:
    more than the (shrunk) search window."""
    monkeypatch.setattr(queries, "SEARCH_WINDOW", 3)
    cast = world.cast
    old = CustomerFactory(owner=cast.rep, name="Zephyr Holdings", pool_entered_at=None)
    for i in range(4):
        CustomerFactory(owner=cast.outsider, name=f"Newer {i}", pool_entered_at=None)
    return world, old


def unindexed(text):
    """Whether `text` is looked for in the window only (no trigram index answers it)."""
    return connection.vendor != "postgresql" or len(text) < 3


@pytest.mark.parametrize("text", ["ze", "zephyr"])
def test_an_unindexed_term_is_looked_for_among_the_newest_records_and_says_so(
    old_and_new, signed_in, text
):
    world, old = old_and_new
    found = queries.global_search(world.cast.admin, text)
    if unindexed(text):
        assert found["customers"] == [] and found.partial == ["customers"]
    else:  # the trigram index finds every match, old ones too
        assert [c.pk for c in found["customers"]] == [old.pk] and found.partial == []
    html = signed_in(world.cast.admin).get(reverse("search"), {"q": text}).text
    link = f"{reverse('customer_list')}?q={text}"
    assert (link in html) == unindexed(text)
    if unindexed(text):
        assert "Search all customers" in html
        listed = signed_in(world.cast.admin).get(link).text  # the list searches everything
        assert reverse("customer_detail", args=[old.pk]) in listed


def test_the_window_counts_only_what_the_user_may_see(old_and_new):
    """The rep sees one customer, however many newer ones others have: it is found."""
    world, old = old_and_new
    found = queries.global_search(world.cast.rep, "ze")
    assert [c.pk for c in found["customers"]] == [old.pk]
    assert found.partial == []
    assert queries.global_search(world.cast.outsider, "zephyr")["customers"] == []


def test_a_term_that_fills_the_limit_within_the_window_is_not_cut_short(old_and_new):
    world, _old = old_and_new
    found = queries.global_search(world.cast.admin, "newer", limit=3)
    assert [c.name for c in found["customers"]] == ["Newer 3", "Newer 2", "Newer 1"]
    assert found.partial == []
