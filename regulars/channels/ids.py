"""Public ids of channel objects (module-level functions: migrations refer to them by path)."""

from __future__ import annotations

from regulars.core.ids import new_ulid


def new_inbox_id() -> str:
    return f"inbox_{new_ulid()}"


def new_inbound_id() -> str:
    return f"inm_{new_ulid()}"


def new_outbound_id() -> str:
    return f"outm_{new_ulid()}"
