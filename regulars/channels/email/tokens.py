"""Signed ticket tokens: ``support+t1234-<sig>@domain`` and ``[#1234-<sig>]`` in subjects.

The signature is an HMAC of SECRET_KEY over the ticket number, lower-case hex so a mail server
that folds the case of local parts does not break it.
"""

from __future__ import annotations

import re

from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "regulars.channels.email.ticket-token"
SIG_LENGTH = 12
_ADDRESS_TOKEN = re.compile(rf"\+t(\d{{1,18}})-([0-9a-f]{{{SIG_LENGTH}}})@", re.IGNORECASE)
_SUBJECT_TOKEN = re.compile(rf"\[#(\d{{1,18}})-([0-9a-f]{{{SIG_LENGTH}}})\]", re.IGNORECASE)


def signature(number: int) -> str:
    return salted_hmac(_SALT, str(number), algorithm="sha256").hexdigest()[:SIG_LENGTH]


def reply_address(base: str, number: int) -> str:
    local, domain = base.rsplit("@", 1)
    return f"{local.split('+', 1)[0]}+t{number}-{signature(number)}@{domain}"


def subject_tag(number: int) -> str:
    return f"[#{number}-{signature(number)}]"


def _valid(match: re.Match[str]) -> int | None:
    number = int(match.group(1))
    return number if constant_time_compare(match.group(2).lower(), signature(number)) else None


def number_from_addresses(addresses: list[str]) -> int | None:
    for address in addresses:
        match = _ADDRESS_TOKEN.search(address)
        if match and (number := _valid(match)) is not None:
            return number
    return None


def number_from_subject(subject: str) -> int | None:
    for match in _SUBJECT_TOKEN.finditer(subject):
        if (number := _valid(match)) is not None:
            return number
    return None


def base_address(address: str) -> str:
    """``support+anything@x`` -> ``support@x``: the address an inbox owns."""
    address = address.strip().lower()
    if "@" not in address:
        return address
    local, domain = address.rsplit("@", 1)
    return f"{local.split('+', 1)[0]}@{domain}"
