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


def test_saving_a_stale_copy_of_a_team_keeps_the_path_its_parent_has_now(cast):
    from salesops.users.models import Team

    stale = Team.objects.get(pk=cast.east1.pk)  # loaded before East moves
    cast.east.parent = cast.west
    cast.east.save()
    stale.name = "East-1 renamed"
    stale.save()
    fresh = Team.objects.get(pk=cast.east1.pk)
    assert (
        fresh.path == f"{cast.hq.pk:06d}.{cast.west.pk:06d}.{cast.east.pk:06d}.{cast.east1.pk:06d}."
    )
    assert fresh.path.startswith(Team.objects.get(pk=cast.east.pk).path)
