"""Generated requests against every operation: never a 5xx, and every answer matches the schema.

Runs in-process against the WSGI app, authenticated as the admin, with a bounded number of
examples per operation so the whole file stays well under two minutes on SQLite.

Each operation is its own pytest test (with a fresh database and cast) rather than a
``schemathesis.pytest.from_fixture`` subtest: that helper sets ``Node._nodeid``, which pytest 9
no longer has.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import config.wsgi
from regulars.api.tests.conftest import ticket_for, token

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]

# Loading the schema needs no database: the OpenAPI view is public and reads only the code.
SCHEMA = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", config.wsgi.application)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # Django closes the database connection when a request finishes; django.test.Client turns
    # that off, but schemathesis's WSGI client does not, and on PostgreSQL closing it would
    # abort the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(cast):
    # Guard: operations must hit the test database, never the development one.
    name = os.path.basename(str(connection.settings_dict["NAME"]))
    assert name.startswith(("file:memorydb", "test_", "test-")), "not a test database"
    # Some real data, so generated small ids and filters sometimes hit something.
    ticket_for(cast.carol, with_file=True, tags=["vip"], team=cast.support)
    return token(cast.alice)


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_it_conforms_to_its_schema(operation, admin_token):
    headers = {"Authorization": f"Bearer {admin_token}"}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=20,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    conforms()


def test_it_covers_every_operation():
    assert len(OPERATIONS) >= 30
