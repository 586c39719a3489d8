"""Validation of typed custom-field values against their admin-defined definitions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from regulars.core import fastsql
from regulars.core.errors import ValidationFailed
from regulars.core.models import CustomFieldDefinition


def clean_custom_fields(
    target: str,
    values: dict[str, Any],
    *,
    partial: bool = True,
    definitions: list[CustomFieldDefinition] | None = None,
) -> dict[str, Any]:
    """Return ``values`` coerced to their declared types; unknown keys and bad values are refused.

    ``None`` removes a value. With ``partial=False`` required fields must be present.
    ``definitions``: the target's definitions when the caller has already read them.
    """
    if definitions is None:
        definitions = fastsql.select(CustomFieldDefinition, '"target" = %s', [target])
    by_key = {d.key: d for d in definitions}
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key, raw in values.items():
        definition = by_key.get(key)
        if definition is None:
            errors[key] = "no such custom field"
            continue
        if raw is None:
            cleaned[key] = None
            continue
        try:
            cleaned[key] = _coerce(definition, raw)
        except (TypeError, ValueError) as exc:
            errors[key] = str(exc)
    if not partial:
        for key, definition in by_key.items():
            if definition.required and cleaned.get(key) is None:
                errors.setdefault(key, "required")
    if errors:
        raise ValidationFailed("Some custom fields are not valid.", fields=errors)
    return cleaned


def _coerce(definition: CustomFieldDefinition, raw: Any) -> Any:
    kind = definition.field_type
    T = CustomFieldDefinition.FieldType
    if kind == T.TEXT:
        if not isinstance(raw, str) or len(raw) > 10_000:
            raise ValueError("expected text of at most 10,000 characters")
        return raw
    if kind == T.NUMBER:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError("expected a number")
        return raw
    if kind == T.BOOLEAN:
        if not isinstance(raw, bool):
            raise ValueError("expected true or false")
        return raw
    if kind == T.DATE:
        if not isinstance(raw, str):
            raise ValueError("expected a date as YYYY-MM-DD")
        return dt.date.fromisoformat(raw).isoformat()
    if kind == T.CHOICE:
        if raw not in definition.choices:
            raise ValueError(f"expected one of {', '.join(map(str, definition.choices))}")
        return raw
    raise ValueError(f"unknown field type {kind}")


def merge_custom_fields(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
