"""Custom objects are report objects: grouped by their choice fields, filtered and
summed by their number fields (read through `value_of`), counted within the reader's
data scope, their hidden fields refused, and each cell's records found again."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from salesops.objects import services as objects
from salesops.objects.tests.helpers import define_site_visit, hide
from salesops.reports import services
from salesops.reports.catalogue import objects as report_objects

pytestmark = pytest.mark.django_db


@pytest.fixture
def visits(cast):
    define_site_visit(cast)
    rng = random.Random(11)
    made = []
    for i in range(40):
        owner = rng.choice([cast.rep, cast.rep_east1, cast.outsider])
        outcome = rng.choice(["good", "bad", "later", None])
        score = rng.choice([None, 1, 2.5, 4, 7])
        custom = {k: v for k, v in (("outcome", outcome), ("score", score)) if v is not None}
        made.append(
            objects.create_record(
                by=cast.admin,
                object_type="site_visit",
                data={"title": f"V{i}", "owner": owner.pk},
                custom=custom,
            )
        )
    return made


def _by_outcome(result):
    return {row[0]: int(row[1]) for row in result.values[:-1]}


def test_a_custom_object_is_a_report_object(cast, visits):
    assert "site_visit" in report_objects()


def test_a_report_grouped_by_a_custom_choice_equals_the_hand_count(cast, visits):
    definition = {"group_by": [{"field": "outcome"}], "measures": [{"agg": "count"}]}
    labels = {"good": "Good", "bad": "Bad", "later": "Later", None: "(empty)"}
    for user, owners in (
        (cast.admin, None),
        (cast.manager, {cast.rep.pk, cast.rep_east1.pk}),
        (cast.outsider, {cast.outsider.pk}),
    ):
        result = services.run_definition(user=user, object_type="site_visit", definition=definition)
        assert not result.error, result.error
        expected = Counter(
            labels[r.custom.get("outcome")]
            for r in visits
            if owners is None or r.owner_id in owners
        )
        assert _by_outcome(result) == dict(expected)


def test_a_custom_number_filters_and_sums_as_by_hand(cast, visits):
    definition = {
        "filters": [{"field": "score", "op": "gte", "value": "2.5"}],
        "group_by": [{"field": "outcome"}],
        "measures": [{"agg": "count"}, {"agg": "sum", "field": "score"}],
    }
    result = services.run_definition(
        user=cast.admin, object_type="site_visit", definition=definition
    )
    assert not result.error, result.error
    total = result.values[-1]
    kept = [r for r in visits if (r.custom.get("score") or 0) >= 2.5]
    assert total[1] == len(kept)
    assert float(total[2]) == pytest.approx(sum(r.custom["score"] for r in kept))
    # The records behind the "Good" row are the good ones among them.
    good_row = next(i for i, row in enumerate(result.values) if row[0] == "Good")
    records = services.report_records(
        user=cast.admin,
        object_type="site_visit",
        definition=definition,
        keys=result.keys[good_row],
    )
    assert {r.pk for r in records} == {r.pk for r in kept if r.custom.get("outcome") == "good"}


def test_a_hidden_custom_field_cannot_be_grouped_or_filtered_by(cast, visits):
    hide(cast.rep.role, "site_visit", "outcome", users=(cast.rep,))
    result = services.run_definition(
        user=cast.rep, object_type="site_visit", definition={"group_by": [{"field": "outcome"}]}
    )
    assert result.error and "g0_field" in result.errors
    with pytest.raises(ValidationError):
        services.create_report(
            user=cast.rep,
            name="x",
            object_type="site_visit",
            definition={"filters": [{"field": "outcome", "op": "eq", "value": "good"}]},
        )
