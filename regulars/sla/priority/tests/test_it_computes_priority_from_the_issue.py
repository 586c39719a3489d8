"""Severity, impact and stated urgency each move the priority, as rules.py documents."""

from __future__ import annotations

import datetime as dt

from regulars.sla.priority.models import SeverityRule
from regulars.sla.priority.services import update_policy

from .conftest import assessed, customer, ticket, ticket_field


def test_it_gives_an_ordinary_question_normal_priority(cast):
    t, a = assessed(ticket(customer()))
    assert (t.priority, a.severity, a.impact, a.stated_urgency) == ("normal", "normal", "single", "normal")
    assert t.priority_reason.startswith("Priority normal: severity normal (no rule matched)")


def test_it_raises_severity_for_an_outage_tag(cast):
    t, a = assessed(ticket(customer(), tags=["outage"]))
    assert (t.priority, a.severity) == ("high", "high")
    assert "severity high (tag outage)" in t.priority_reason


def test_it_lowers_severity_for_planned_work(cast):
    t, _ = assessed(ticket(customer(), ticket_type="task"))
    assert t.priority == "low"
    assert "severity low (type task)" in t.priority_reason


def test_it_detects_urgency_words_as_whole_words(cast):
    down, _ = assessed(ticket(customer(), subject="Site is down", body="Nothing loads."))
    download, _ = assessed(ticket(customer(), subject="Download link", body="Where is the download?"))
    assert down.priority == "high"
    assert 'word "down"' in down.priority_reason
    assert download.priority == "normal"


def test_it_reads_urgency_words_in_the_customers_latest_message(cast):
    from regulars.tickets.services import post_message

    t = ticket(customer())
    post_message(t, author=None, as_customer=t.requester, body="Now we have data loss!", public=True)
    t, a = assessed(t)
    assert (t.priority, a.severity) == ("urgent", "critical")


def test_it_matches_rules_on_custom_field_values(cast):
    ticket_field("product")
    SeverityRule.objects.create(
        name="Payments", severity="high", custom_field="product", custom_value="payments"
    )
    t, _ = assessed(ticket(customer(), custom_fields={"product": "Payments"}))
    assert t.priority == "high"
    assert "product=payments" in t.priority_reason


def test_it_raises_priority_when_several_customers_report_the_same_thing(cast):
    first = ticket(customer(), tags=["login"])
    ticket(customer(), tags=["login"])
    third = ticket(customer(), tags=["login"])
    t, a = assessed(third)
    assert (a.impact, t.priority) == ("several", "high")
    assert "impact several (3 customers in 2h with tag login)" in t.priority_reason
    # The first reporter alone, assessed when it came in, was one customer.
    _, a1 = assessed(first, now=first.created_at - dt.timedelta(seconds=1))
    assert a1.impact == "single"


def test_it_counts_distinct_customers_not_tickets(cast):
    someone = customer()
    for _ in range(3):
        last = ticket(someone, tags=["login"])
    _, a = assessed(last)
    assert a.impact == "single"


def test_it_forgets_reports_older_than_the_window(cast):
    old = [ticket(customer(), tags=["login"]) for _ in range(2)]
    later = ticket(customer(), tags=["login"])
    from regulars.tickets.models import Ticket

    Ticket.objects.filter(pk__in=[o.pk for o in old]).update(
        created_at=later.created_at - dt.timedelta(hours=3)
    )
    _, a = assessed(later)
    assert a.impact == "single"


def test_it_counts_the_same_category_as_the_same_issue(cast):
    ticket_field("category")
    for _ in range(10):
        last = ticket(customer(), custom_fields={"category": "checkout"})
    t, a = assessed(last)
    assert (a.impact, t.priority) == ("widespread", "high")
    assert "10 customers in 2h with category checkout" in t.priority_reason


def test_it_treats_an_organisation_wide_tag_as_widespread(cast):
    t, a = assessed(ticket(customer(), tags=["org-wide-outage"]))
    assert (a.impact, t.priority) == ("widespread", "high")
    assert "tag org-wide-outage" in t.priority_reason


def test_it_listens_to_the_urgency_the_customer_states(cast):
    high, a = assessed(ticket(customer(), tags=["urgency:high"]))
    low, _ = assessed(ticket(customer(), tags=["urgency:low"]))
    assert (high.priority, a.stated_urgency) == ("high", "high")
    assert "stated urgency high (tag urgency:high)" in high.priority_reason
    assert low.priority == "low"


def test_it_reads_stated_urgency_from_a_custom_field(cast):
    ticket_field("urgency")
    t, _ = assessed(ticket(customer(), custom_fields={"urgency": "Urgent"}))
    assert t.priority == "high"
    assert "stated urgency high (field urgency=Urgent)" in t.priority_reason


def test_it_never_lets_loud_trivia_become_urgent(cast):
    ticket_field("urgency")
    many = [
        ticket(customer(), ticket_type="task", tags=["avatar"], custom_fields={"urgency": "urgent"})
        for _ in range(12)
    ]
    t, _ = assessed(many[-1])
    assert t.priority == "normal"  # low severity moved one step, not three


def test_it_follows_the_scoring_table_the_admin_edits(cast):
    from regulars.sla.priority.services import get_policy

    table = dict(get_policy().scoring_table)
    table["normal/single/normal"] = "low"
    update_policy(actor=cast.alice, changes={"scoring_table": table})
    t, _ = assessed(ticket(customer()))
    assert t.priority == "low"


def test_it_states_every_factor_in_the_reason(cast):
    t, a = assessed(ticket(customer(), subject="Outage: site down", tags=["outage"]))
    assert t.priority_reason == a.reason
    for part in ("severity high", "impact single", "stated urgency normal", "value modifier off"):
        assert part in t.priority_reason
    assert a.factors["severity"]["sources"][0] == {"severity": "high", "because": "tag outage"}
    assert t.history.filter(field="priority", actor__isnull=True).exists()
