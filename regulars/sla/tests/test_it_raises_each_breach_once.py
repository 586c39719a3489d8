"""At-risk and breach events: exactly once per ticket, target and kind, even after downtime."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from regulars.core.testing import Cast
from regulars.sla.models import SlaEventLog, TicketSla
from regulars.sla.services import create_policy, run_clocks
from regulars.sla.tests.conftest import Clock, london
from regulars.tickets.services import open_ticket

START = london(2025, 6, 2, 10, 0)


def test_it_warns_at_risk_then_breaches_once_each(cast: Cast, clock: Clock, raised: list[Any]) -> None:
    create_policy(name="Everyone", first_reply_minutes=60, first_reply_business=False)
    with clock.at(START):
        ticket = open_ticket(subject="Help", body="x", requester=cast.carol)
    for minutes in (10, 46, 47, 61, 62):
        with clock.at(START + timedelta(minutes=minutes)):
            run_clocks()
    assert [(name, p["target"]) for name, p in raised] == [
        ("sla.at_risk", "first_reply"),
        ("sla.breached", "first_reply"),
    ]
    assert TicketSla.objects.get(ticket=ticket).first_reply_state == "breached"


def test_it_fires_each_missed_breach_exactly_once_after_downtime(
    cast: Cast, clock: Clock, raised: list[Any]
) -> None:
    create_policy(name="Everyone", first_reply_minutes=60, resolution_minutes=120, first_reply_business=False,
                  resolution_business=False)  # fmt: skip
    tickets = []
    for i in range(3):
        with clock.at(START + timedelta(minutes=i)):
            tickets.append(open_ticket(subject=f"Help {i}", body="x", requester=cast.carol))
    # Nothing ran for five hours. Then the job runs, twice (two schedulers, or a retry).
    back = START + timedelta(hours=5)
    with clock.at(back):
        run_clocks()
    with clock.at(back + timedelta(seconds=30)):
        run_clocks()
    with clock.at(back + timedelta(hours=1)):
        run_clocks()
    breaches = sorted((p["ticket_id"], p["target"]) for name, p in raised if name == "sla.breached")
    assert breaches == sorted((t.pk, target) for t in tickets for target in ("first_reply", "resolution"))
    # Their at-risk warnings came too late to help: only the breaches are announced.
    assert not [p for name, p in raised if name == "sla.at_risk"]
    assert SlaEventLog.objects.count() == 6
    assert TicketSla.objects.filter(next_check_at__isnull=False).count() == 0


def test_it_never_raises_twice_even_if_the_row_forgets(cast: Cast, clock: Clock, raised: list[Any]) -> None:
    create_policy(name="Everyone", first_reply_minutes=60, first_reply_business=False)
    with clock.at(START):
        ticket = open_ticket(subject="Help", body="x", requester=cast.carol)
    with clock.at(START + timedelta(hours=2)):
        run_clocks()
    # A second worker holding a stale row: the unique log refuses the duplicate.
    TicketSla.objects.filter(ticket=ticket).update(notified=0, next_check_at=START)
    with clock.at(START + timedelta(hours=2, minutes=1)):
        run_clocks()
    assert len([1 for name, _ in raised if name == "sla.breached"]) == 1


def test_it_raises_a_late_first_reply_as_a_breach_once(cast: Cast, clock: Clock, raised: list[Any]) -> None:
    from regulars.tickets.services import post_message

    create_policy(name="Everyone", first_reply_minutes=60, first_reply_business=False)
    with clock.at(START):
        ticket = open_ticket(subject="Help", body="x", requester=cast.carol)
    with clock.at(START + timedelta(hours=3)):  # the job was down; the agent replied late
        post_message(ticket, author=cast.bob, body="Sorry", public=True)
    with clock.at(START + timedelta(hours=3, minutes=1)):
        run_clocks()
        run_clocks()
    assert [(n, p["target"]) for n, p in raised] == [("sla.breached", "first_reply")]
    assert TicketSla.objects.get(ticket=ticket).first_reply_state == "breached"
