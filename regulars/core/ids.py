"""Public identifiers: time-ordered, unguessable, safe in URLs (ULID layout, Crockford base32).

Each prefixed generator is a named module-level function because migrations refer to field
defaults by import path.
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_ulid() -> str:
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_usr_id() -> str:
    return f"usr_{new_ulid()}"


def new_team_id() -> str:
    return f"team_{new_ulid()}"


def new_tok_id() -> str:
    return f"tok_{new_ulid()}"


def new_plan_id() -> str:
    return f"plan_{new_ulid()}"


def new_org_id() -> str:
    return f"org_{new_ulid()}"


def new_cus_id() -> str:
    return f"cus_{new_ulid()}"


def new_msg_id() -> str:
    return f"msg_{new_ulid()}"


def new_att_id() -> str:
    return f"att_{new_ulid()}"
