"""Writes the desk owns: agents' saved queue filters."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from regulars.accounts.models import User
from regulars.accounts.services import record_audit
from regulars.core.errors import Conflict, Forbidden, ValidationFailed
from regulars.desk.models import SavedFilter

MAX_SAVED_FILTERS = 100


def save_filter(owner: User, *, name: str, query: str, shared: bool = False) -> SavedFilter:
    """Keep the queue's current filters under ``name``. Only agents keep filters."""
    if not owner.is_agent:
        raise Forbidden("Only agents keep queue filters.")
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("A saved filter needs a name.", fields={"name": "required"})
    if len(name) > 80 or len(query) > 1000:
        raise ValidationFailed("The name or the filters are too long.", fields={"name": "too long"})
    if SavedFilter.objects.filter(owner=owner).count() >= MAX_SAVED_FILTERS:
        raise Conflict(f"At most {MAX_SAVED_FILTERS} saved filters each.", code="too_many_filters")
    try:
        with transaction.atomic():
            saved = SavedFilter.objects.create(owner=owner, name=name, query=query, shared=shared)
            record_audit(owner, "desk.filter_saved", "saved_filter", str(saved.pk), name=name, shared=shared)
    except IntegrityError:
        raise Conflict(f"You already have a filter named {name!r}.", code="filter_name_taken") from None
    return saved


@transaction.atomic
def delete_filter(saved: SavedFilter, *, actor: User) -> None:
    """Only the owner deletes a filter, shared or not."""
    if saved.owner_id != actor.pk:
        raise Forbidden("Only the person who saved a filter can delete it.")
    record_audit(actor, "desk.filter_deleted", "saved_filter", str(saved.pk), name=saved.name)
    saved.delete()
