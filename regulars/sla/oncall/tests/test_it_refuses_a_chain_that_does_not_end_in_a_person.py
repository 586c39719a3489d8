"""Every escalation policy ends at a named, active person; business hours are checked."""

from __future__ import annotations

from typing import Any

import pytest

from regulars.core.errors import ValidationFailed
from regulars.core.testing import Cast
from regulars.sla.oncall.models import EscalationPolicy, Rotation
from regulars.sla.oncall.schedule import in_business_hours
from regulars.sla.oncall.services import LevelSpec, create_escalation_policy
from regulars.sla.oncall.tests.conftest import WEEKDAYS_9_TO_5, at


def make(levels: list[LevelSpec], **kw: Any) -> EscalationPolicy:
    return create_escalation_policy(name="Chain", levels=levels, **kw)


def test_it_refuses_a_policy_that_ends_in_a_rotation(cast: Cast, nights: Rotation) -> None:
    with pytest.raises(ValidationFailed) as refused:
        make([LevelSpec(agent=cast.bob), LevelSpec(rotation=nights)])
    assert refused.value.code == "chain_must_end_in_a_person"
    assert refused.value.fields == {"levels.1": "not a named person"}


def test_it_refuses_a_policy_that_ends_in_a_deactivated_agent(cast: Cast, nights: Rotation) -> None:
    cast.dave.is_active = False
    cast.dave.save(update_fields=["is_active"])
    with pytest.raises(ValidationFailed) as refused:
        make([LevelSpec(rotation=nights), LevelSpec(agent=cast.dave)])
    assert refused.value.fields == {"levels.1": "not an agent"}


def test_it_refuses_a_customer_or_a_light_agent_as_the_final_person(cast: Cast) -> None:
    for person in (cast.carol_user, cast.charlie):
        with pytest.raises(ValidationFailed):
            make([LevelSpec(agent=person)])


def test_it_refuses_an_empty_chain_and_a_level_with_two_targets(cast: Cast, nights: Rotation) -> None:
    with pytest.raises(ValidationFailed):
        make([])
    with pytest.raises(ValidationFailed) as refused:
        make([LevelSpec(rotation=nights, agent=cast.bob), LevelSpec(agent=cast.alice)])
    assert refused.value.fields == {"levels.0": "one target"}


def test_it_accepts_a_chain_ending_at_a_named_person(cast: Cast, nights: Rotation) -> None:
    policy = make([LevelSpec(rotation=nights), LevelSpec(agent=cast.alice)], business_hours=WEEKDAYS_9_TO_5)
    assert [(lv.position, lv.rotation, lv.agent) for lv in policy.levels.order_by("position")] == [
        (1, nights, None),
        (2, None, cast.alice),
    ]


@pytest.mark.parametrize(
    "hours",
    [
        {"7": [["09:00", "17:00"]]},
        {"0": [["17:00", "09:00"]]},
        {"0": [["09:00", "12:00"], ["11:00", "13:00"]]},
        {"0": [["9am", "5pm"]]},
    ],
)
def test_it_refuses_business_hours_that_make_no_sense(cast: Cast, hours: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        make([LevelSpec(agent=cast.alice)], business_hours=hours)


def test_it_reads_business_hours_in_the_policys_time_zone_across_summer_time() -> None:
    hours = WEEKDAYS_9_TO_5
    # Monday 31 March 2025 is on BST: 09:00 local is 08:00 UTC.
    assert not in_business_hours(hours, "Europe/London", at("2025-03-31T07:59:00+00:00"))
    assert in_business_hours(hours, "Europe/London", at("2025-03-31T08:00:00+00:00"))
    assert in_business_hours(hours, "Europe/London", at("2025-03-31T15:59:00+00:00"))
    assert not in_business_hours(hours, "Europe/London", at("2025-03-31T16:00:00+00:00"))
    # Friday 28 March, still GMT.
    assert in_business_hours(hours, "Europe/London", at("2025-03-28T09:00:00+00:00"))
    assert not in_business_hours(hours, "Europe/London", at("2025-03-29T12:00:00+00:00"))  # Saturday
    assert not in_business_hours({}, "UTC", at("2025-03-31T12:00:00+00:00"))  # never in the office
