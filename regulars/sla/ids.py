"""Public ids of the SLA context (module-level functions: migrations refer to them by path)."""

from __future__ import annotations

from regulars.core.ids import new_ulid


def new_cal_id() -> str:
    return f"cal_{new_ulid()}"


def new_slp_id() -> str:
    return f"slp_{new_ulid()}"


def new_sup_id() -> str:
    return f"sup_{new_ulid()}"


def new_swt_id() -> str:
    return f"swt_{new_ulid()}"
