"""Input types shared by every endpoint: text that the database can store, and bounded ids.

PostgreSQL refuses NUL bytes in text and lone surrogates cannot be encoded at all, so both are
refused here with a 422 rather than failing as a 500 deep inside a query.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

MAX_BIGINT = 2**63 - 1
MAX_JSON_DEPTH = 8


def _printable_storage(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("must not contain unpaired surrogates")
    return value


def _clean_json(value: Any, depth: int = 0) -> Any:
    if depth > MAX_JSON_DEPTH:
        raise ValueError("nested too deeply")
    if isinstance(value, str):
        return _printable_storage(value)
    if isinstance(value, dict):
        return {_printable_storage(str(k)): _clean_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_json(v, depth + 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_BIGINT:
        raise ValueError("number out of range")
    return value


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = _clean_json(value)
    return cleaned


# Any other text input: Annotated[str, <its constraints>, Printable].
Printable = AfterValidator(_printable_storage)
# Free text (bodies, notes, names). Length limits are set per field where the text is used.
Text = Annotated[str, AfterValidator(_printable_storage)]
ShortText = Annotated[str, StringConstraints(max_length=250), AfterValidator(_printable_storage)]
# Public ids such as cus_01h..., team_01h...: short and URL-safe.
PublicId = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z]+_[0-9a-z]+$")]
TicketNumber = Annotated[int, Field(ge=1, le=MAX_BIGINT)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_json_object)]


def _utc(value: datetime) -> datetime:
    # PostgreSQL refuses odd offsets such as +23:57, and the edges of the calendar cannot be
    # shifted: both become a 422 here instead of a 500 in the database.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        return aware.astimezone(UTC)
    except OverflowError:
        raise ValueError("the date is out of range") from None


# Every datetime a client sends: naive means UTC; stored and compared in UTC.
UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
