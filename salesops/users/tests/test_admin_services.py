"""Administrators' writes on people and teams: deactivation is announced once, inside
the transaction, and only empty teams are deleted."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from salesops.users import admin_services as admin
from salesops.users.models import Team


@pytest.fixture
def deactivations():
    seen: list[int] = []

    def receiver(sender, *, user, **kwargs):
        seen.append(user.pk)

    admin.user_deactivated.connect(receiver, dispatch_uid="test-deactivations")
    yield seen
    admin.user_deactivated.disconnect(dispatch_uid="test-deactivations")


def test_deactivating_a_person_is_announced_once(cast, deactivations):
    admin.save_user(by=cast.admin, user=cast.rep, data={"is_active": False})
    admin.save_user(by=cast.admin, user=cast.rep, data={"display_name": "Still off"})
    assert deactivations == [cast.rep.pk]


def test_other_changes_and_reactivation_are_not_deactivations(cast, deactivations):
    admin.save_user(by=cast.admin, user=cast.rep, data={"team": cast.west})
    cast.outsider.is_active = False
    cast.outsider.save()
    admin.save_user(by=cast.admin, user=cast.outsider, data={"is_active": True})
    assert deactivations == []


def test_only_an_administrator_changes_people_and_teams(cast):
    with pytest.raises(PermissionDenied):
        admin.save_user(by=cast.manager, user=cast.rep, data={"is_active": False})
    with pytest.raises(PermissionDenied):
        admin.delete_team(by=cast.manager, team=cast.east1)
    cast.rep.refresh_from_db()
    assert cast.rep.is_active


def test_a_team_with_people_or_sub_teams_is_not_deleted(cast):
    with pytest.raises(ValidationError, match="People"):
        admin.delete_team(by=cast.admin, team=cast.west)
    parent = Team.objects.create(name="Parent")
    Team.objects.create(name="Child", parent=parent)
    with pytest.raises(ValidationError, match="sub-teams"):
        admin.delete_team(by=cast.admin, team=parent)
    assert Team.objects.filter(pk__in=[cast.west.pk, parent.pk]).count() == 2


def test_a_person_without_a_username_is_refused(cast):
    with pytest.raises(ValidationError) as e:
        admin.save_user(by=cast.admin, data={"username": ""}, password="a-long-Secret-42")
    assert "username" in e.value.message_dict
