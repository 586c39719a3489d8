"""IMAP polling over TLS against a real Dovecot with its own certificate: implicit TLS (993-style)
and STARTTLS both work when the certificate is trusted, and a certificate nobody vouched for is
refused, recorded as the inbox's error, with nothing read or marked."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from regulars.channels.email.imap import poll_inbox
from regulars.channels.email.models import InboundEmail
from regulars.channels.email.tests.test_it_polls_imap_into_the_ledger import (
    SEEN,
    Dovecot,
    imap_inbox,
    mail,
    start_dovecot,
    stop_dovecot,
)
from regulars.tickets.models import Ticket

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 that is its own certificate authority."""
    cert, key = folder / "server.pem", folder / "server.key"
    subprocess.run(  # noqa: S603 (fixed arguments)
        ["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    key.chmod(0o644)  # Dovecot reads it as the mail user
    return cert, key


@pytest.fixture
def tls_dovecot(tmp_path: Path) -> Iterator[tuple[Dovecot, Path]]:
    tmp_path.chmod(0o755)
    cert, key = make_certificate(tmp_path)
    server = start_dovecot(["alice"], cert=cert, key=key)
    try:
        yield server, cert
    finally:
        stop_dovecot(server)


def test_it_polls_over_implicit_tls_with_a_trusted_certificate(
    cast: Any, tls_dovecot: tuple[Dovecot, Path]
) -> None:
    server, cert = tls_dovecot
    server.append("alice", mail(1))
    inbox = imap_inbox(server.tls_port, "Support", "alice", security="ssl", ca_file=str(cert))

    result = poll_inbox(inbox)

    assert (result.error, result.stored) == ("", 1)
    assert list(Ticket.objects.values_list("subject", flat=True)) == ["Question 1"]
    assert all(SEEN in flags for flags in server.messages("alice").values())


def test_it_polls_over_starttls_with_a_trusted_certificate(
    cast: Any, tls_dovecot: tuple[Dovecot, Path]
) -> None:
    server, cert = tls_dovecot
    server.append("alice", mail(1))
    inbox = imap_inbox(server, "Support", "alice", security="starttls", ca_file=str(cert))

    result = poll_inbox(inbox)

    assert (result.error, result.stored) == ("", 1)
    assert Ticket.objects.count() == 1


def test_it_refuses_a_certificate_it_cannot_verify_and_says_so(
    cast: Any, tls_dovecot: tuple[Dovecot, Path]
) -> None:
    server, _cert = tls_dovecot
    server.append("alice", mail(1))
    # No ca_file: the system's authorities do not vouch for this self-signed certificate.
    inbox = imap_inbox(server.tls_port, "Support", "alice", security="ssl")

    result = poll_inbox(inbox)

    assert "CERTIFICATE_VERIFY_FAILED" in result.error
    assert InboundEmail.objects.count() == 0 and Ticket.objects.count() == 0
    assert [SEEN in flags for flags in server.messages("alice").values()] == [False]
    inbox.refresh_from_db()
    assert "CERTIFICATE_VERIFY_FAILED" in inbox.last_error and inbox.failing_since is not None
