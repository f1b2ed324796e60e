from salesops.crm.models import Deal
from salesops.crm.tests.factories import DealFactory


def test_each_scope_sees_exactly_its_owners_deals(cast):
    mine = DealFactory(owner=cast.rep)
    east1 = DealFactory(owner=cast.rep_east1)
    west = DealFactory(owner=cast.outsider)

    def seen(user):
        return set(Deal.objects.visible_to(user).values_list("id", flat=True))

    assert seen(cast.rep) == {mine.id}
    assert seen(cast.outsider) == {west.id}
    assert seen(cast.manager) == {mine.id, east1.id}
    assert seen(cast.teammate) == {mine.id}
    assert seen(cast.admin) == {mine.id, east1.id, west.id}
    assert seen(cast.analyst) == {mine.id, east1.id, west.id}
