"""Reads of agents and teams, with the permission policy applied."""

from __future__ import annotations

from django.db.models import QuerySet

from regulars.accounts.models import AGENT_ROLES, Team, User
from regulars.core.errors import NotFound


def visible_agents(viewer: User) -> QuerySet[User]:
    """Agents see their colleagues; customers see no one."""
    if not viewer.is_agent:
        return User.objects.none()
    return User.objects.filter(role__in=AGENT_ROLES).order_by("name", "id")


def visible_teams(viewer: User) -> QuerySet[Team]:
    if not viewer.is_agent:
        return Team.objects.none()
    return Team.objects.order_by("name")


def get_agent(viewer: User, public_id: str) -> User:
    agent = visible_agents(viewer).filter(public_id=public_id).first()
    if agent is None:
        raise NotFound("No such agent.")
    return agent


def get_team(viewer: User, public_id: str) -> Team:
    team = visible_teams(viewer).filter(public_id=public_id).first()
    if team is None:
        raise NotFound("No such team.")
    return team


def team_ids_of(user: User) -> list[int]:
    return list(user.teams.values_list("id", flat=True))
