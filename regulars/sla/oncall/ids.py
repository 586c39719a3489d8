"""Public ids of on-call objects. Named module-level functions because migrations refer to them."""

from __future__ import annotations

from regulars.core.ids import new_ulid


def new_rotation_id() -> str:
    return f"rot_{new_ulid()}"


def new_override_id() -> str:
    return f"ovr_{new_ulid()}"


def new_policy_id() -> str:
    return f"esc_{new_ulid()}"


def new_incident_id() -> str:
    return f"inc_{new_ulid()}"


def new_page_id() -> str:
    return f"page_{new_ulid()}"


def new_drill_id() -> str:
    return f"drl_{new_ulid()}"
