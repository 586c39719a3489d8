"""Tags in use, for pickers and sync clients. Agents only."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from regulars.api.auth import require_agent, viewer
from regulars.api.errors import responses
from regulars.api.paging import DEFAULT_LIMIT, CursorParam, Limit, decode_cursor, encode_cursor, split_page
from regulars.api.schemas import TagPage
from regulars.tickets.models import Tag

router = Router(tags=["tags"])


@router.get("/tags", response=responses({200: TagPage}), summary="List tags")
def list_tags(
    request: HttpRequest, cursor: CursorParam = None, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    """Alphabetical."""
    require_agent(viewer(request))
    qs = Tag.objects.order_by("name")
    if cursor:
        (last_name,) = decode_cursor(cursor, (str,))
        qs = qs.filter(name__gt=last_name)
    rows, more = split_page(list(qs[: limit + 1]), limit)
    return {
        "items": [{"name": t.name} for t in rows],
        "next_cursor": encode_cursor([rows[-1].name]) if more else None,
    }
