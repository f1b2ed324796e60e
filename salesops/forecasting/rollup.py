"""The roll-up of submitted numbers up the team tree: plain functions, no ORM.

A team's number is its manager's own call when the manager has one (a manager's number
speaks for the whole team); otherwise the sum of its members' numbers (the manager
excepted) and of its sub-teams' roll-ups. A team nobody in it has a number for has none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Numbers:
    commit: Decimal
    best_case: Decimal

    def __add__(self, other: Numbers) -> Numbers:
        return Numbers(self.commit + other.commit, self.best_case + other.best_case)


@dataclass(frozen=True)
class TeamNode:
    id: int
    manager_id: int | None
    member_ids: Sequence[int]  # people whose primary team this is
    child_ids: Sequence[int]


def team_number(
    team_id: int, teams: Mapping[int, TeamNode], numbers: Mapping[int, Numbers]
) -> Numbers | None:
    """The roll-up of `team_id` given each person's current (effective) number."""
    team = teams[team_id]
    if team.manager_id is not None and team.manager_id in numbers:
        return numbers[team.manager_id]
    parts = [numbers[m] for m in team.member_ids if m != team.manager_id and m in numbers]
    for child in team.child_ids:
        sub = team_number(child, teams, numbers)
        if sub is not None:
            parts.append(sub)
    if not parts:
        return None
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def gap(target: Decimal | None, forecast: Decimal | None) -> Decimal | None:
    """What the forecast lacks to reach the target (negative: above it); None without
    either."""
    if target is None or forecast is None:
        return None
    return target - forecast
