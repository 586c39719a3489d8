from __future__ import annotations

import pytest

from regulars.core.errors import Conflict, ValidationFailed
from regulars.core.testing import Cast
from regulars.customers.services import (
    add_identity,
    create_customer,
    find_customer_by_identity,
    get_or_create_customer_by_email,
    normalise_identity,
)


@pytest.mark.parametrize(
    ("kind", "raw", "stored"),
    [
        ("email", "  Mixed.Case@Example.COM ", "mixed.case@example.com"),
        ("phone", "+44 (20) 7946-0958", "+442079460958"),
        ("phone", "0044 20 7946 0958", "+442079460958"),
        ("phone", "020 7946 0958", "02079460958"),
        ("social", "Twitter:@Carol", "twitter:@carol"),
    ],
)
def test_it_normalises_identities(kind: str, raw: str, stored: str) -> None:
    assert normalise_identity(kind, raw) == stored


@pytest.mark.parametrize(
    ("kind", "raw"), [("email", "not-an-address"), ("email", "a@b@c"), ("phone", "12"), ("fax", "1")]
)
def test_it_refuses_identities_it_cannot_understand(kind: str, raw: str) -> None:
    with pytest.raises(ValidationFailed):
        normalise_identity(kind, raw)


def test_it_recognises_the_same_person_by_any_of_their_identities(cast: Cast) -> None:
    add_identity(cast.carol, "phone", "+1 555 0100 200")
    assert find_customer_by_identity("email", "CAROL@acme.example") == cast.carol
    assert find_customer_by_identity("phone", "+15550100200") == cast.carol
    assert get_or_create_customer_by_email("Carol@Acme.example") == cast.carol


def test_it_refuses_an_identity_that_belongs_to_someone_else(cast: Cast) -> None:
    with pytest.raises(Conflict):
        add_identity(cast.erin, "email", "carol@acme.example")
    with pytest.raises(Conflict):
        create_customer(name="Impostor", emails=["carol@acme.example"])


def test_it_puts_a_new_customer_in_the_organisation_of_their_domain(cast: Cast) -> None:
    newcomer = create_customer(name="New", emails=["new@globex.example"])
    assert newcomer.organisation == cast.globex
    assert create_customer(name="Free", emails=["free@mail.example"]).organisation is None


def test_it_validates_typed_custom_fields(cast: Cast) -> None:
    from regulars.core.models import CustomFieldDefinition
    from regulars.customers.services import update_customer

    CustomFieldDefinition.objects.create(
        target="customer", key="tier", label="Tier", field_type="choice", choices=["gold", "silver"]
    )
    CustomFieldDefinition.objects.create(target="customer", key="seats", label="Seats", field_type="number")
    CustomFieldDefinition.objects.create(target="customer", key="renewal", label="Renewal", field_type="date")
    update_customer(cast.carol, custom_fields={"tier": "gold", "seats": 12, "renewal": "2027-01-31"})
    assert cast.carol.custom_fields == {"tier": "gold", "seats": 12, "renewal": "2027-01-31"}
    with pytest.raises(ValidationFailed) as excinfo:
        update_customer(
            cast.carol, custom_fields={"tier": "bronze", "seats": "many", "renewal": "soon", "nope": 1}
        )
    assert set(excinfo.value.fields) == {"tier", "seats", "renewal", "nope"}
    update_customer(cast.carol, custom_fields={"seats": None})
    assert "seats" not in cast.carol.custom_fields
