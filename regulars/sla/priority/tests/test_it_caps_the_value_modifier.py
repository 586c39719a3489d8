"""Customer value touches priority only through the modifier: off by default, capped, visible."""

from __future__ import annotations

from regulars.sla.priority.services import get_policy, update_policy

from .conftest import assessed, customer, ticket


def switch_modifier_on(cast, threshold: int = 10_000) -> None:
    update_policy(
        actor=cast.alice,
        changes={"value_modifier_enabled": True, "value_modifier_min_lifetime_value": threshold},
    )


def test_it_is_off_by_default_and_does_nothing(cast):
    assert get_policy().value_modifier_enabled is False
    rich, _ = assessed(ticket(customer(1_000_000)))
    poor, _ = assessed(ticket(customer(0)))
    assert rich.priority == poor.priority == "normal"
    assert rich.priority_reason.endswith("value modifier off")


def test_it_raises_a_valuable_customer_one_step_when_on(cast):
    switch_modifier_on(cast)
    t, a = assessed(ticket(customer(50_000), ticket_type="task"))
    assert t.priority == "normal"  # low -> normal, one step
    assert a.factors["base_priority"] == "low"
    assert a.factors["value_modifier"] == {
        "enabled": True,
        "steps": 1,
        "note": "value modifier on, +1 step (lifetime value 50000.00 at least 10000.00)",
    }
    assert "value modifier on, +1 step" in t.priority_reason


def test_it_leaves_customers_below_the_threshold_alone(cast):
    switch_modifier_on(cast)
    t, _ = assessed(ticket(customer(9_999), ticket_type="task"))
    assert t.priority == "low"
    assert "value modifier on, no change (lifetime value 9999.00 below 10000.00)" in t.priority_reason


def test_it_never_makes_a_normal_issue_urgent(cast):
    switch_modifier_on(cast)
    t, _ = assessed(ticket(customer(50_000), tags=["urgency:high"]))
    assert t.priority == "high"  # would be urgent with the nudge: capped
    assert "value modifier on, capped (urgent needs severity high; severity is normal)" in t.priority_reason


def test_it_may_make_a_severe_issue_urgent(cast):
    switch_modifier_on(cast)
    t, _ = assessed(ticket(customer(50_000), tags=["outage"]))
    assert t.priority == "urgent"


def test_it_never_lowers_anyone(cast):
    switch_modifier_on(cast)
    t, _ = assessed(ticket(customer(0), tags=["outage"]))
    assert t.priority == "high"
