"""Who is on call: hand-offs at local wall-clock time, across days and daylight-saving changes."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from regulars.core.errors import ValidationFailed
from regulars.core.testing import Cast
from regulars.sla.oncall.models import Rotation
from regulars.sla.oncall.selectors import on_call, who_is_on_call
from regulars.sla.oncall.services import add_override, create_rotation
from regulars.sla.oncall.tests.conftest import at


def test_it_hands_off_daily_at_the_local_time(cast: Cast, nights: Rotation) -> None:
    assert who_is_on_call(nights, at("2025-03-08T09:00:00+00:00")) == cast.bob
    assert who_is_on_call(nights, at("2025-03-09T08:59:59+00:00")) == cast.bob
    assert who_is_on_call(nights, at("2025-03-09T09:00:00+00:00")) == cast.dave
    assert who_is_on_call(nights, at("2025-03-10T09:00:00+00:00")) == cast.bob


def test_it_keeps_the_hand_off_at_nine_in_london_when_summer_time_starts(
    cast: Cast, nights: Rotation
) -> None:
    # 30 March 2025: clocks go forward at 01:00 UTC; 09:00 BST is 08:00 UTC.
    assert who_is_on_call(nights, at("2025-03-30T07:59:00+00:00")) == cast.dave
    assert who_is_on_call(nights, at("2025-03-30T08:00:00+00:00")) == cast.bob
    shift = on_call(nights, at("2025-03-30T07:59:00+00:00"))
    assert shift.starts_at == at("2025-03-29T09:00:00+00:00")
    assert shift.ends_at == at("2025-03-30T08:00:00+00:00")
    assert shift.ends_at - shift.starts_at == timedelta(hours=23)


def test_it_hands_off_weekly_on_monday_morning_in_new_york_across_the_autumn_change(cast: Cast) -> None:
    rotation = create_rotation(
        name="Weekly",
        participants=[cast.alice, cast.bob, cast.dave],
        cadence="weekly",
        handoff_weekday=0,
        handoff_time=time(9, 0),
        starts_on=date(2025, 10, 22),  # a Wednesday: the first shift began Monday 20 October
        time_zone="America/New_York",
    )
    assert who_is_on_call(rotation, at("2025-10-27T12:59:00+00:00")) == cast.alice  # 08:59 EDT
    assert who_is_on_call(rotation, at("2025-10-27T13:00:00+00:00")) == cast.bob  # 09:00 EDT
    assert who_is_on_call(rotation, at("2025-11-03T13:59:00+00:00")) == cast.bob  # 08:59 EST
    assert who_is_on_call(rotation, at("2025-11-03T14:00:00+00:00")) == cast.dave  # 09:00 EST
    assert who_is_on_call(rotation, at("2025-11-10T14:00:00+00:00")) == cast.alice  # wraps around
    shift = on_call(rotation, at("2025-11-01T00:00:00+00:00"))
    assert shift.ends_at - shift.starts_at == timedelta(days=7, hours=1)


def test_it_lets_an_override_cover_a_shift_and_the_newest_override_wins(cast: Cast, nights: Rotation) -> None:
    add_override(
        nights,
        agent=cast.alice,
        starts_at=at("2025-03-08T18:00:00+00:00"),
        ends_at=at("2025-03-09T06:00:00+00:00"),
    )
    add_override(
        nights,
        agent=cast.dave,
        starts_at=at("2025-03-08T22:00:00+00:00"),
        ends_at=at("2025-03-08T23:00:00+00:00"),
    )

    assert who_is_on_call(nights, at("2025-03-08T17:59:00+00:00")) == cast.bob
    assert who_is_on_call(nights, at("2025-03-08T18:00:00+00:00")) == cast.alice
    assert who_is_on_call(nights, at("2025-03-08T22:30:00+00:00")) == cast.dave
    assert who_is_on_call(nights, at("2025-03-08T23:00:00+00:00")) == cast.alice
    assert who_is_on_call(nights, at("2025-03-09T06:00:00+00:00")) == cast.bob  # the end is exclusive
    assert on_call(nights, at("2025-03-08T19:00:00+00:00")).override is not None


def test_it_refuses_an_override_that_ends_before_it_starts(cast: Cast, nights: Rotation) -> None:
    with pytest.raises(ValidationFailed):
        add_override(
            nights,
            agent=cast.alice,
            starts_at=at("2025-03-09T00:00:00+00:00"),
            ends_at=at("2025-03-08T00:00:00+00:00"),
        )


@pytest.mark.parametrize("who", ["charlie", "carol_user"])
def test_it_refuses_people_who_cannot_be_paged(cast: Cast, who: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        create_rotation(
            name="Odd",
            participants=[cast.bob, getattr(cast, who)],
            handoff_time=time(9),
            starts_on=date(2025, 1, 6),
        )
    assert refused.value.fields == {"participants": "not an agent"}


def test_it_refuses_an_unknown_time_zone(cast: Cast) -> None:
    with pytest.raises(ValidationFailed) as refused:
        create_rotation(
            name="Mars",
            participants=[cast.bob],
            handoff_time=time(9),
            starts_on=date(2025, 1, 6),
            time_zone="Mars/Base",
        )
    assert refused.value.fields == {"time_zone": "unknown time zone"}
