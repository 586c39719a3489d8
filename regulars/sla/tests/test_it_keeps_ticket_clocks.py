"""Scenario tests of ticket clocks, with time controlled, never slept on."""

from __future__ import annotations

from datetime import timedelta

from regulars.core.testing import Cast
from regulars.customers.services import create_plan, update_customer
from regulars.sla.models import BusinessCalendar, CalendarException, SlaEventLog, TicketSla
from regulars.sla.services import create_calendar, create_policy, run_clocks, update_calendar
from regulars.sla.tests.conftest import LONDON, Clock, london
from regulars.tickets.models import Ticket
from regulars.tickets.services import default_status, open_ticket, post_message, update_ticket


def clocks_of(ticket: Ticket) -> TicketSla:
    return TicketSla.objects.get(ticket=ticket)


def open_at(clock: Clock, cast: Cast, moment, **kw) -> Ticket:  # type: ignore[no-untyped-def]
    with clock.at(moment):
        return open_ticket(subject="Invoice wrong", body="Please fix", requester=cast.carol, **kw)


def test_it_is_due_monday_0955_for_a_ticket_opened_friday_1755(
    cast: Cast, office: BusinessCalendar, clock: Clock
) -> None:
    create_policy(name="Everyone", calendar=office, first_reply_minutes=60)
    # Friday 28 March 2025; the clocks go forward on Sunday 30 March, so Monday is on BST.
    ticket = open_at(clock, cast, london(2025, 3, 28, 17, 55))
    due = clocks_of(ticket).first_reply_due
    assert due is not None
    assert due.astimezone(LONDON) == london(2025, 3, 31, 9, 55)


def test_it_counts_only_open_hours_on_a_nine_to_five_calendar(cast: Cast, clock: Clock) -> None:
    nine_to_five = create_calendar(
        name="Nine to five",
        time_zone="Europe/London",
        weekly_hours={d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    )
    create_policy(name="Everyone", calendar=nine_to_five, first_reply_minutes=60)
    # After closing on Friday no business time passes until Monday 09:00, so one hour is 10:00.
    ticket = open_at(clock, cast, london(2025, 3, 28, 17, 55))
    assert clocks_of(ticket).first_reply_due.astimezone(LONDON) == london(2025, 3, 31, 10, 0)  # type: ignore[union-attr]


def test_it_shifts_the_target_over_public_holidays(
    cast: Cast, office: BusinessCalendar, clock: Clock
) -> None:
    create_policy(name="Everyone", calendar=office, first_reply_minutes=60)
    # Thursday before Easter 2025: Good Friday and Easter Monday are English bank holidays.
    ticket = open_at(clock, cast, london(2025, 4, 17, 17, 30))
    assert clocks_of(ticket).first_reply_due.astimezone(LONDON) == london(2025, 4, 22, 9, 30)  # type: ignore[union-attr]


def test_it_shifts_the_target_over_a_custom_closed_day(
    cast: Cast, office: BusinessCalendar, clock: Clock
) -> None:
    update_calendar(office, exceptions=[{"date": "2025-03-31", "name": "Office move", "hours": []}])
    assert CalendarException.objects.filter(calendar=office).count() == 1
    create_policy(name="Everyone", calendar=office, first_reply_minutes=60)
    ticket = open_at(clock, cast, london(2025, 3, 28, 17, 55))
    assert clocks_of(ticket).first_reply_due.astimezone(LONDON) == london(2025, 4, 1, 9, 55)  # type: ignore[union-attr]


def test_it_pauses_the_clock_while_pending(cast: Cast, office: BusinessCalendar, clock: Clock) -> None:
    create_policy(name="Everyone", calendar=office, resolution_minutes=8 * 60)
    ticket = open_at(clock, cast, london(2025, 6, 2, 10, 0))  # Monday
    assert clocks_of(ticket).resolution_due.astimezone(LONDON) == london(2025, 6, 2, 18, 0)  # type: ignore[union-attr]
    with clock.at(london(2025, 6, 2, 11, 0)):
        post_message(ticket, author=cast.bob, body="Which invoice?", public=True)
        update_ticket(ticket, actor=cast.bob, status=default_status("pending"))
    paused = clocks_of(ticket)
    assert paused.is_paused and paused.resolution_due is None
    with clock.at(london(2025, 6, 3, 11, 0)):  # the customer answers a day later: the ticket reopens
        post_message(ticket, author=cast.carol_user, body="INV-1", public=True)
    resumed = clocks_of(ticket)
    assert not resumed.is_paused
    # One hour used before the pause; seven remain from Tuesday 11:00.
    assert resumed.resolution_due.astimezone(LONDON) == london(2025, 6, 3, 18, 0)  # type: ignore[union-attr]


def test_it_moves_the_target_when_the_priority_changes(
    cast: Cast, office: BusinessCalendar, clock: Clock
) -> None:
    create_policy(name="Normal", calendar=office, first_reply_minutes=8 * 60)
    create_policy(name="Urgent", priority="urgent", first_reply_minutes=30, first_reply_business=False)
    ticket = open_at(clock, cast, london(2025, 6, 7, 10, 0))  # a Saturday
    assert clocks_of(ticket).first_reply_due.astimezone(LONDON) == london(2025, 6, 9, 17, 0)  # type: ignore[union-attr]
    with clock.at(london(2025, 6, 7, 10, 5)):
        update_ticket(ticket, actor=cast.bob, priority="urgent", priority_reason="site down")
    row = clocks_of(ticket)
    assert row.policy is not None and row.policy.name == "Urgent"
    assert row.first_reply_due.astimezone(LONDON) == london(2025, 6, 7, 10, 30)  # type: ignore[union-attr]


def test_it_moves_the_target_when_the_plan_changes(cast: Cast, clock: Clock) -> None:
    gold = create_plan(name="Gold", slug="gold")
    create_policy(name="Default", first_reply_minutes=24 * 60, first_reply_business=False)
    create_policy(name="Gold", plan=gold, first_reply_minutes=60, first_reply_business=False)
    start = london(2025, 6, 2, 10, 0)
    ticket = open_at(clock, cast, start)
    assert clocks_of(ticket).first_reply_due == start + timedelta(hours=24)
    with clock.at(start + timedelta(minutes=5)):
        update_customer(cast.carol, plan=gold)
    assert clocks_of(ticket).first_reply_due == start + timedelta(hours=1)


def test_it_meets_first_reply_with_a_public_agent_reply_not_a_note(cast: Cast, clock: Clock) -> None:
    create_policy(name="Everyone", first_reply_minutes=60, first_reply_business=False)
    start = london(2025, 6, 2, 10, 0)
    ticket = open_at(clock, cast, start)
    with clock.at(start + timedelta(minutes=10)):
        post_message(ticket, author=cast.bob, body="looking", public=False)
    assert clocks_of(ticket).first_reply_state == "on_track"
    with clock.at(start + timedelta(minutes=20)):
        post_message(ticket, author=cast.bob, body="Fixed", public=True)
    row = clocks_of(ticket)
    assert row.first_reply_state == "met"
    assert row.first_reply_at == start + timedelta(minutes=20)


def test_it_measures_next_reply_from_each_customer_reply(cast: Cast, clock: Clock) -> None:
    create_policy(name="Everyone", next_reply_minutes=120, next_reply_business=False)
    start = london(2025, 6, 2, 10, 0)
    ticket = open_at(clock, cast, start)
    assert clocks_of(ticket).next_reply_state == "none"
    with clock.at(start + timedelta(minutes=5)):
        post_message(ticket, author=cast.bob, body="Hello", public=True)
    with clock.at(start + timedelta(hours=1)):
        post_message(ticket, author=cast.carol_user, body="Still broken", public=True)
    row = clocks_of(ticket)
    assert row.next_reply_due == start + timedelta(hours=3)
    assert row.next_reply_cycle == 1
    with clock.at(start + timedelta(hours=4)):
        post_message(ticket, author=cast.bob, body="Sorry for the wait", public=True)
    assert clocks_of(ticket).next_reply_state == "breached"


def test_it_gives_no_sla_to_a_ticket_no_policy_matches(cast: Cast, clock: Clock) -> None:
    create_policy(name="Phone only", channel="phone", first_reply_minutes=60)
    ticket = open_at(clock, cast, london(2025, 6, 2, 10, 0))
    row = clocks_of(ticket)
    assert row.policy is None
    assert (row.first_reply_due, row.first_reply_state, row.next_check_at) == (None, "none", None)
    with clock.at(london(2025, 6, 9, 10, 0)):
        post_message(ticket, author=cast.bob, body="Hi", public=True)
        assert run_clocks()["events"] == 0


def test_it_repairs_clocks_whose_event_was_missed(cast: Cast) -> None:
    create_policy(name="Everyone", first_reply_minutes=60, first_reply_business=False)
    ticket = open_ticket(subject="No events", body="x", requester=cast.carol)  # on-commit never runs here
    assert not TicketSla.objects.filter(ticket=ticket).exists()
    run_clocks()
    assert clocks_of(ticket).first_reply_due == ticket.created_at + timedelta(hours=1)
    assert SlaEventLog.objects.count() == 0
