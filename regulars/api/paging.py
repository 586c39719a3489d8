"""Keyset (cursor) paging. Never OFFSET and never COUNT(*): both get slower with every row.

A cursor is the sort key of the last row of the previous page, base64-encoded so clients treat
it as opaque. A cursor that does not decode is a 422, not a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Annotated, Any

from ninja import Query
from pydantic import Field

from regulars.core.errors import ValidationFailed

Limit = Annotated[int, Query(ge=1, le=100)]
CursorParam = Annotated[str | None, Query(max_length=200)]
DEFAULT_LIMIT = 50
_Limit = Annotated[int, Field(ge=1, le=100)]


def encode_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, shape: tuple[type, ...]) -> list[Any]:
    """The key in ``cursor``, checked to be a list of values of the types in ``shape``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValidationFailed("The cursor is not valid.", fields={"cursor": "invalid"}) from None
    if (
        not isinstance(key, list)
        or len(key) != len(shape)
        or not all(isinstance(v, t) and not isinstance(v, bool) for v, t in zip(key, shape, strict=True))
    ):
        raise ValidationFailed("The cursor is not valid.", fields={"cursor": "invalid"})
    for value in key:
        if isinstance(value, int) and not 0 <= value < 2**63:
            raise ValidationFailed("The cursor is not valid.", fields={"cursor": "invalid"})
        if isinstance(value, str) and ("\x00" in value or len(value) > 100):
            raise ValidationFailed("The cursor is not valid.", fields={"cursor": "invalid"})
    return key


def split_page(rows: list[Any], limit: int) -> tuple[list[Any], bool]:
    """Rows were fetched with ``limit + 1``; the extra row only says another page exists."""
    return rows[:limit], len(rows) > limit
