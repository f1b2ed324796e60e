"""Fixtures over the crafted pipeline history of `history.py`."""

import pytest

from salesops.forecasting.tests.history import build_history, set_up_org


@pytest.fixture
def org(cast):
    return set_up_org(cast)


@pytest.fixture
def history(cast, org):
    return build_history(cast)
