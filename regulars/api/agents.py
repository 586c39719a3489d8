"""Agents and teams: visible to agents; created and staffed by admins."""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Path, Router, Status

from regulars.accounts import services
from regulars.accounts.models import Team, User
from regulars.accounts.selectors import get_agent, get_team, visible_agents, visible_teams
from regulars.api.auth import require_admin, require_agent, viewer
from regulars.api.errors import responses
from regulars.api.paging import DEFAULT_LIMIT, CursorParam, Limit, decode_cursor, encode_cursor, split_page
from regulars.api.refs import agents_ref, team_ref
from regulars.api.schemas import AgentIn, AgentOut, AgentPage, MembersIn, TeamIn, TeamOut, TeamPage

router = Router(tags=["agents and teams"])

AgentId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^usr_[0-9a-z]+$")]
TeamId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^team_[0-9a-z]+$")]


def agent_out(agent: User) -> dict[str, Any]:
    return {
        "id": agent.public_id,
        "email": agent.email,
        "name": agent.name,
        "role": agent.role,
        "is_active": agent.is_active,
        "teams": [t.public_id for t in agent.teams.all()],
    }


def team_out(team: Team) -> dict[str, Any]:
    return {
        "id": team.public_id,
        "name": team.name,
        "description": team.description,
        "members": [m.public_id for m in team.members.all()],
    }


_TEAMS = Prefetch("teams", queryset=Team.objects.only("id", "public_id").order_by("name"))
_MEMBERS = Prefetch("members", queryset=User.objects.only("id", "public_id").order_by("id"))


@router.get("/agents", response=responses({200: AgentPage}), summary="List agents")
def list_agents(
    request: HttpRequest, cursor: CursorParam = None, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    user = viewer(request)
    require_agent(user)
    qs = visible_agents(user).prefetch_related(_TEAMS).order_by("id")
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        qs = qs.filter(id__gt=last_id)
    rows, more = split_page(list(qs[: limit + 1]), limit)
    return {
        "items": [agent_out(a) for a in rows],
        "next_cursor": encode_cursor([rows[-1].pk]) if more else None,
    }


@router.post("/agents", response=responses({201: AgentOut}), summary="Create an agent (admins)")
def create_agent(request: HttpRequest, payload: AgentIn) -> Status[dict[str, Any]]:
    user = viewer(request)
    require_admin(user)
    teams = [t for t in (team_ref(user, pid, "teams") for pid in dict.fromkeys(payload.teams)) if t]
    agent = services.create_agent(
        email=payload.email, name=payload.name, role=payload.role, teams=teams, actor=user
    )
    return Status(201, agent_out(agent))


@router.get("/agents/{agent_id}", response=responses({200: AgentOut}), summary="Get an agent")
def read_agent(request: HttpRequest, agent_id: AgentId) -> dict[str, Any]:
    user = viewer(request)
    require_agent(user)
    return agent_out(get_agent(user, agent_id))


@router.get("/teams", response=responses({200: TeamPage}), summary="List teams")
def list_teams(
    request: HttpRequest, cursor: CursorParam = None, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    user = viewer(request)
    require_agent(user)
    qs = visible_teams(user).prefetch_related(_MEMBERS).order_by("id")
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        qs = qs.filter(id__gt=last_id)
    rows, more = split_page(list(qs[: limit + 1]), limit)
    return {
        "items": [team_out(t) for t in rows],
        "next_cursor": encode_cursor([rows[-1].pk]) if more else None,
    }


@router.post("/teams", response=responses({201: TeamOut}), summary="Create a team (admins)")
def create_team(request: HttpRequest, payload: TeamIn) -> Status[dict[str, Any]]:
    user = viewer(request)
    require_admin(user)
    return Status(
        201, team_out(services.create_team(name=payload.name, description=payload.description, actor=user))
    )


@router.get("/teams/{team_id}", response=responses({200: TeamOut}), summary="Get a team")
def read_team(request: HttpRequest, team_id: TeamId) -> dict[str, Any]:
    user = viewer(request)
    require_agent(user)
    return team_out(get_team(user, team_id))


@router.put("/teams/{team_id}/members", response=responses({200: TeamOut}), summary="Set members (admins)")
def set_members(request: HttpRequest, team_id: TeamId, payload: MembersIn) -> dict[str, Any]:
    """Replaces the team's members with exactly these agents."""
    user = viewer(request)
    require_admin(user)
    team = get_team(user, team_id)
    services.set_team_members(team, agents_ref(user, payload.members, "members"), actor=user)
    return team_out(team)
