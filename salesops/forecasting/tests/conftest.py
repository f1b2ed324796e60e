import pytest

from salesops.forecasting.tests.data import make_closed_period, make_history


@pytest.fixture
def history(cast):
    return make_history(cast)


@pytest.fixture
def closed_period(cast):
    return make_closed_period(cast)
