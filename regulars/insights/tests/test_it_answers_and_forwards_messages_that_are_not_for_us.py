"""An agent says a ticket is not for us: the customer gets a polite reply, the sister brand gets
the message, the ticket is solved, and the next training learns what "not for us" looks like."""

from __future__ import annotations

from unittest import mock

import pytest

from regulars.accounts.models import AuditLog
from regulars.core.errors import Forbidden, NotFound, ValidationFailed
from regulars.insights.backends import OUT_OF_SCOPE
from regulars.insights.misdirected import (
    NOT_FOR_US_TAG,
    create_sister_brand,
    deliver_forwards,
    mark_not_for_us,
    render_reply,
    update_sister_brand,
)
from regulars.insights.models import MisdirectedForward, TicketTriage
from regulars.insights.services import training_examples
from regulars.tickets.models import Message, StatusCategory

from .conftest import open_and_triage


@pytest.fixture
def garden(cast):
    return create_sister_brand(
        actor=cast.alice, name="GreenThumb", description="garden hoses, lawn mowers, seeds",
        contact="help@greenthumb.example", forward_address="inbox@greenthumb.example",
        reply_template="Dear {customer}, this is for {brand}: please write to {contact}. {not a placeholder}",
    )  # fmt: skip


@pytest.fixture
def stray(cast, trained, django_capture_on_commit_callbacks):
    return open_and_triage(
        django_capture_on_commit_callbacks,
        cast.carol,
        "My lawn mower blade snapped",
        "It broke on the first cut.",
    )


def _public_replies(ticket):
    return list(
        Message.objects.filter(ticket=ticket, author_type=Message.AuthorType.AGENT, kind=Message.Kind.REPLY)
    )


def test_it_replies_forwards_solves_and_keeps_the_example(
    cast, stray, garden, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        triage = mark_not_for_us(stray, actor=cast.bob, brand=garden)

    stray.refresh_from_db()
    assert stray.status_category == StatusCategory.SOLVED
    assert NOT_FOR_US_TAG in set(stray.tags.values_list("name", flat=True))
    (reply,) = _public_replies(stray)
    assert reply.body_text == (
        "Dear Carol Customer, this is for GreenThumb: please write to help@greenthumb.example. {not a placeholder}"
    )
    assert reply.author_user == cast.bob

    triage.refresh_from_db()
    assert triage.misdirected and triage.category is None
    assert triage.corrected_by == cast.bob and triage.redirected_to == garden

    (forward,) = MisdirectedForward.objects.filter(ticket=stray)
    assert forward.sent_at is not None and forward.tries == 1
    (mail,) = mailoutbox
    assert mail.to == ["inbox@greenthumb.example"]
    assert mail.subject == "Fwd: My lawn mower blade snapped"
    assert "It broke on the first cut." in mail.body and "carol@acme.example" in mail.body

    audit = AuditLog.objects.get(action="insights.not_for_us")
    assert audit.actor == cast.bob and audit.object_id == str(stray.number)

    texts, labels = training_examples()
    assert labels == [OUT_OF_SCOPE]
    assert texts[0].startswith("My lawn mower blade snapped")


def test_it_does_nothing_more_the_second_time(
    cast, stray, garden, mailoutbox, django_capture_on_commit_callbacks
):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            mark_not_for_us(stray, actor=cast.bob, brand=garden)
    assert len(_public_replies(stray)) == 1
    assert MisdirectedForward.objects.count() == 1
    assert len(mailoutbox) == 1
    assert AuditLog.objects.filter(action="insights.not_for_us").count() == 1


def test_it_sends_the_generic_reply_without_a_brand_and_nothing_when_asked(
    cast, trained, mailoutbox, django_capture_on_commit_callbacks
):
    first = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "Do you sell garden seeds?")
    second = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "Is this the pizza place?")
    with django_capture_on_commit_callbacks(execute=True):
        mark_not_for_us(first, actor=cast.bob)
        mark_not_for_us(second, actor=cast.bob, reply=False)

    (generic,) = _public_replies(first)
    assert generic.body_text.startswith("Thank you for your message. It looks like it reached us by mistake")
    assert _public_replies(second) == []
    assert mailoutbox == []  # no brand, nothing to forward
    assert MisdirectedForward.objects.count() == 0
    assert TicketTriage.objects.get(ticket=second).redirected_to is None


def test_it_lets_only_full_agents_who_see_the_ticket_decide(cast, stray, garden):
    with pytest.raises(Forbidden):
        mark_not_for_us(stray, actor=cast.charlie, brand=garden)  # light agent
    with pytest.raises(Forbidden):
        mark_not_for_us(stray, actor=cast.carol_user, brand=garden)
    with pytest.raises(NotFound):
        mark_not_for_us(stray, actor=cast.dave, brand=garden)  # sees Billing only
    assert not TicketTriage.objects.filter(ticket=stray, corrected_by__isnull=False).exists()
    assert _public_replies(stray) == []


def test_it_refuses_a_switched_off_brand(cast, stray, garden):
    update_sister_brand(actor=cast.alice, brand=garden, active=False)
    with pytest.raises(ValidationFailed):
        mark_not_for_us(stray, actor=cast.bob, brand=garden)
    assert _public_replies(stray) == []


def test_it_retries_a_forward_that_failed(
    cast, stray, garden, mailoutbox, django_capture_on_commit_callbacks
):
    with (
        mock.patch("regulars.insights.misdirected.send_mail", side_effect=OSError("relay down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        mark_not_for_us(stray, actor=cast.bob, brand=garden)
    forward = MisdirectedForward.objects.get(ticket=stray)
    assert forward.sent_at is None and forward.tries == 1 and forward.error == "relay down"
    assert mailoutbox == []

    assert deliver_forwards() == 1  # the scheduled retry
    forward.refresh_from_db()
    assert forward.sent_at is not None and forward.tries == 2 and forward.error == ""
    assert [m.to for m in mailoutbox] == [["inbox@greenthumb.example"]]
    assert deliver_forwards() == 0


def test_it_gives_up_after_the_last_try(cast, stray, garden, django_capture_on_commit_callbacks):
    with (
        mock.patch("regulars.insights.misdirected.send_mail", side_effect=OSError("relay down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        mark_not_for_us(stray, actor=cast.bob, brand=garden)
        while deliver_forwards():
            pass
        for _ in range(MisdirectedForward.MAX_TRIES + 2):
            deliver_forwards()
    assert MisdirectedForward.objects.get(ticket=stray).tries == MisdirectedForward.MAX_TRIES


def test_it_fills_only_the_named_placeholders(garden):
    text = render_reply(
        "{brand} {contact} {customer} {brand.__class__} {0}", brand=garden, customer_name="Ann"
    )
    assert text == "GreenThumb help@greenthumb.example Ann {brand.__class__} {0}"


def test_it_checks_sister_brands(cast, garden):
    with pytest.raises(ValidationFailed):
        create_sister_brand(actor=cast.alice, name="greenthumb", description="the same name again")
    with pytest.raises(ValidationFailed):
        create_sister_brand(
            actor=cast.alice, name="PetPal", description="pets", forward_address="not an address"
        )
    with pytest.raises(Forbidden):
        create_sister_brand(actor=cast.bob, name="PetPal", description="pets")
    changed = update_sister_brand(actor=cast.alice, brand=garden, contact="0800 123")
    assert changed.contact == "0800 123"
    assert AuditLog.objects.filter(action="insights.brand_changed", object_id=garden.public_id).exists()
