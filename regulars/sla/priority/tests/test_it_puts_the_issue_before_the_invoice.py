"""Seed 002: a big customer's small issue never outranks a small customer's outage."""

from __future__ import annotations

import pytest

from regulars.sla.priority.rules import PRIORITIES
from regulars.sla.priority.services import update_policy

from .conftest import assessed, customer, ticket


@pytest.mark.parametrize("modifier", [False, True])
def test_it_ranks_a_small_customers_outage_above_a_big_customers_question(cast, modifier):
    update_policy(actor=cast.alice, changes={"value_modifier_enabled": modifier})
    big, _ = assessed(ticket(customer(5_000_000), subject="How do I change my avatar?", ticket_type="task"))
    small, _ = assessed(ticket(customer(10), subject="Everything is down", body="Outage since 9am."))
    assert PRIORITIES.index(small.priority) > PRIORITIES.index(big.priority)


def test_it_ranks_even_a_loud_big_customer_no_higher_than_an_outage(cast):
    update_policy(actor=cast.alice, changes={"value_modifier_enabled": True})
    loud, _ = assessed(ticket(customer(5_000_000), subject="Invoice layout", tags=["urgency:high"]))
    outage, _ = assessed(ticket(customer(10), subject="Outage", tags=["outage"]))
    assert PRIORITIES.index(loud.priority) <= PRIORITIES.index(outage.priority)
