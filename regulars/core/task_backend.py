"""The database task backend (django-tasks-db) with its task row written by a prepared INSERT.

Every ticket, message and inbound mail enqueues one task row for its event's background
handlers, inside the same transaction. ``DBTaskResult.objects.create`` compiled that INSERT
afresh each time (~a quarter of ``open_ticket``'s time); here the row is built by the model as
before and written with :func:`regulars.core.fastsql.insert`. Everything else, including the
worker, is django-tasks-db's own.
"""

from __future__ import annotations

from typing import Any

from django_tasks_db import DatabaseBackend as _DatabaseBackend
from django_tasks_db.compat import normalize_json, task_enqueued

from regulars.core import fastsql


class DatabaseBackend(_DatabaseBackend):
    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        # django-tasks-db's own, except that the row's ``task_result`` (which resolves the task
        # by its import path and copies it) is built once and given to the signal and the caller
        # alike, as django-tasks' own backends do, instead of twice.
        self.validate_task(task)
        result = self._task_to_db_task(task, args, kwargs).task_result
        task_enqueued.send(type(self), task_result=result)
        return result

    def _task_to_db_task(self, task: Any, args: Any, kwargs: Any) -> Any:
        from django_tasks_db.models import DBTaskResult

        return fastsql.insert(
            DBTaskResult(
                id=self._get_id(),
                args_kwargs=normalize_json({"args": args, "kwargs": kwargs}),
                priority=task.priority,
                task_path=task.module_path,
                queue_name=task.queue_name,
                run_after=task.run_after,
                backend_name=self.alias,
            )
        )
