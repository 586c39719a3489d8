"""Periodic jobs: one run per slot however many schedulers, and no backlog after downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from regulars.core.models import ScheduledRun
from regulars.core.scheduling import claim_and_enqueue
from regulars.core.tasks import prune_scheduled_runs

JOB = "core.prune_scheduled_runs"  # cron "17 3 * * *"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def only_the_core_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other contexts register their own jobs; these tests speak about one job only."""
    from regulars.core import scheduling

    monkeypatch.setattr(scheduling, "_jobs", {JOB: scheduling._jobs[JOB]})


def enqueued() -> int:
    return DBTaskResult.objects.filter(task_path__endswith="prune_scheduled_runs").count()


def test_it_enqueues_a_slot_once_when_two_machines_claim_it_at_the_same_moment() -> None:
    now = datetime(2025, 3, 4, 3, 17, 20, tzinfo=UTC)

    first = claim_and_enqueue(now, claimed_by="machine-a")
    second = claim_and_enqueue(now, claimed_by="machine-b")

    assert [run.job for run in first] == [JOB]
    assert second == []
    assert enqueued() == 1
    run = ScheduledRun.objects.get(job=JOB)
    assert run.claimed_by == "machine-a"
    assert run.slot == datetime(2025, 3, 4, 3, 17, tzinfo=UTC)
    assert run.task_result_id == str(DBTaskResult.objects.get().id)


def test_it_does_not_claim_the_slot_again_later_in_the_same_day() -> None:
    claim_and_enqueue(datetime(2025, 3, 4, 3, 17, tzinfo=UTC), claimed_by="machine-a")

    assert claim_and_enqueue(datetime(2025, 3, 4, 9, 0, tzinfo=UTC), claimed_by="machine-b") == []
    assert enqueued() == 1


def test_it_runs_only_the_latest_missed_slot_after_downtime() -> None:
    claim_and_enqueue(datetime(2025, 3, 1, 3, 17, tzinfo=UTC), claimed_by="machine-a")

    # Down for three days: the slots of the 2nd, 3rd and 4th were missed.
    claimed = claim_and_enqueue(datetime(2025, 3, 4, 12, 0, tzinfo=UTC), claimed_by="machine-a")

    assert [run.slot for run in claimed] == [datetime(2025, 3, 4, 3, 17, tzinfo=UTC)]
    assert enqueued() == 2
    assert ScheduledRun.objects.filter(job=JOB).count() == 2


def test_it_prints_what_one_pass_claimed() -> None:
    out = StringIO()
    call_command("scheduler", "--once", "--claimed-by", "machine-a", stdout=out)
    assert f"claimed {JOB} for slot " in out.getvalue()

    again = StringIO()
    call_command("scheduler", "--once", "--claimed-by", "machine-b", stdout=again)
    assert again.getvalue().strip() == "nothing claimed: every current slot is already taken"
    assert enqueued() == 1


def test_it_refuses_an_interval_that_is_not_positive() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="more than 0"):
        call_command("scheduler", "--interval", "0")


def test_it_can_prune_old_slots_twice_without_harm() -> None:
    slot = datetime(2025, 3, 4, 3, 17, tzinfo=UTC)
    ScheduledRun.objects.create(job=JOB, slot=slot - timedelta(days=40))
    ScheduledRun.objects.create(job=JOB, slot=slot - timedelta(days=1))

    assert prune_scheduled_runs.call(slot=slot.isoformat()) == 1
    assert prune_scheduled_runs.call(slot=slot.isoformat()) == 0
    assert list(ScheduledRun.objects.values_list("slot", flat=True)) == [slot - timedelta(days=1)]


# The worker commits and checks its connection between tasks, as in production, so it needs real
# transactions rather than the test's wrapping one.
@pytest.mark.django_db(transaction=True)
def test_it_runs_waiting_tasks_with_the_worker_command() -> None:
    claim_and_enqueue(datetime(2025, 3, 4, 3, 17, tzinfo=UTC), claimed_by="machine-a")

    call_command("worker", "--batch", "--verbosity", "0")

    result = DBTaskResult.objects.get()
    assert result.status == "SUCCESSFUL"
    assert result.return_value == 0
