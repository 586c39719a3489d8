"""core.fastsql writes and reads rows with SQL built once; what lands in the database must be
what ``save()`` would have written, and a failure inside a pipeline must roll back like any other."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import signals
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from regulars.accounts.models import ApiToken, AuditLog, Role, User
from regulars.core import fastsql
from regulars.core.models import SearchDocument
from regulars.tickets.models import Tag


@pytest.mark.django_db
def test_an_insert_stores_what_save_would_store() -> None:
    fast = fastsql.insert(AuditLog(action="x.done", object_type="thing", object_id="1", data={"a": [1, "é"]}))
    slow = AuditLog(action="x.done", object_type="thing", object_id="1", data={"a": [1, "é"]})
    slow.save()
    assert fast.pk is not None and fast.pk != slow.pk
    stored_fast, stored_slow = AuditLog.objects.get(pk=fast.pk), AuditLog.objects.get(pk=slow.pk)
    without_keys = lambda row: {k: v for k, v in model_to_dict(row).items() if k != "id"}  # noqa: E731
    assert without_keys(stored_fast) == without_keys(stored_slow)
    assert stored_fast.created_at is not None  # auto_now_add ran


@pytest.mark.django_db
def test_an_insert_sends_the_save_signals() -> None:
    seen: list[tuple[str, bool]] = []

    def before(sender: object, instance: Tag, **kwargs: object) -> None:
        seen.append(("pre", instance.pk is None))

    def after(sender: object, instance: Tag, created: bool, **kwargs: object) -> None:
        seen.append(("post", created))

    signals.pre_save.connect(before, sender=Tag)
    signals.post_save.connect(after, sender=Tag)
    try:
        fastsql.insert(Tag(name="signalled"))
    finally:
        signals.pre_save.disconnect(before, sender=Tag)
        signals.post_save.disconnect(after, sender=Tag)
    assert seen == [("pre", True), ("post", True)]


@pytest.mark.django_db
def test_a_select_builds_the_same_instances_as_the_orm() -> None:
    fastsql.insert(AuditLog(action="a", object_type="t", object_id="9", data={"k": 1}))
    (fast,) = fastsql.select(AuditLog, '"object_id" = %s', ["9"])
    slow = AuditLog.objects.get(object_id="9")
    assert model_to_dict(fast) == model_to_dict(slow)
    assert fast.created_at == slow.created_at and fast.data == {"k": 1}
    assert (fast._state.adding, fast._state.db) == (False, "default")  # loaded, as from_db marks it
    tag = fastsql.insert(Tag(name="before"))
    (loaded,) = fastsql.select(Tag, '"id" = %s', [tag.pk])
    loaded.name = "after"
    loaded.save()  # an UPDATE of the row it came from, not a second row
    assert list(Tag.objects.values_list("name", flat=True)) == ["after"]


@pytest.mark.django_db
def test_a_read_with_its_related_row_behaves_like_the_orm_s() -> None:
    user = User.objects.create_user(email="kim@regulars.test", password="kim-password-1", name="Kim")
    made = ApiToken.objects.create(user=user, name="probe", prefix="p1", secret_hash="h", scopes=["read"])
    (fast,) = fastsql.select_related(ApiToken, "user", '"accounts_apitoken"."prefix" = %s', ["p1"], memo=True)
    slow = ApiToken.objects.select_related("user").get(pk=made.pk)
    assert model_to_dict(fast) == model_to_dict(slow) and model_to_dict(fast.user) == model_to_dict(slow.user)
    assert fast.user_id == user.pk and fast.user.email == "kim@regulars.test"
    with CaptureQueriesContext(connection) as queries:
        assert fast.user.pk == user.pk  # set with the row: no query
    assert not queries.captured_queries
    fast.scopes.append("write")  # each read gets its own copy of mutable values
    (again,) = fastsql.select_related(
        ApiToken, "user", '"accounts_apitoken"."prefix" = %s', ["p1"], memo=True
    )
    assert again.scopes == ["read"]


@pytest.mark.django_db(transaction=True)
def test_a_failure_in_a_pipeline_rolls_the_whole_write_back() -> None:
    fastsql.insert(Tag(name="taken"))
    with pytest.raises(IntegrityError), transaction.atomic(), fastsql.pipeline():
        fastsql.insert(SearchDocument(kind="ticket", object_id=1, body="lost"), need_pk=False)
        fastsql.run('INSERT INTO "tickets_tag" ("name") VALUES (%s)', ["taken"])  # duplicate
    assert not SearchDocument.objects.exists()
    assert list(Tag.objects.values_list("name", flat=True)) == ["taken"]
    # The connection is usable afterwards.
    assert fastsql.execute("SELECT COUNT(*) FROM tickets_tag") == [(1,)]


@pytest.mark.django_db
def test_reads_sent_together_come_back_to_their_own_callers() -> None:
    fastsql.insert(Tag(name="one"))
    fastsql.insert(Tag(name="two"))
    with fastsql.pipeline():
        first = fastsql.send_select(Tag, '"name" = %s', ["one"])
        second = fastsql.send("SELECT COUNT(*) FROM tickets_tag")
        third = fastsql.send_select(Tag, '"name" = %s', ["two"])
        assert [t.name for t in third.rows()] == ["two"]
        assert second.rows() == [(2,)]
        assert [t.name for t in first.rows()] == ["one"]
    ids = fastsql.reserve_ids(Tag)
    if connection.vendor == "postgresql":
        assert ids is not None and ids.rows()[0][0] > max(Tag.objects.values_list("id", flat=True))
    else:
        assert ids is None


@pytest.mark.django_db
def test_a_select_with_its_related_row_matches_select_related() -> None:
    owner = User.objects.create_user(email="owner@example.com", password="x" * 12, role=Role.AGENT)
    other = User.objects.create_user(email="other@example.com", password="x" * 12, role=Role.AGENT)
    for user, prefix in ((owner, "aaaa"), (other, "bbbb")):
        ApiToken.objects.create(user=user, name=prefix, prefix=prefix, secret_hash="h", scopes=["read"])
    (fast,) = fastsql.select_related(ApiToken, "user", '"accounts_apitoken"."prefix" = %s', ["aaaa"])
    slow = ApiToken.objects.select_related("user").get(prefix="aaaa")
    assert model_to_dict(fast) == model_to_dict(slow)
    with CaptureQueriesContext(connection) as queries:
        assert fast.user.email == "owner@example.com" and fast.user.date_joined == slow.user.date_joined
    assert len(queries) == 0  # the user came with the token
    assert model_to_dict(fast.user) == model_to_dict(slow.user)
    assert fastsql.select_related(ApiToken, "user", '"accounts_apitoken"."prefix" = %s', ["zzzz"]) == []


@pytest.mark.django_db
def test_statements_stay_visible_to_whoever_watches_them() -> None:
    # Straight to sqlite3 only when nobody watches: a query log (DEBUG, CaptureQueriesContext)
    # or an execute wrapper still sees every statement.
    wrapped: list[str] = []

    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        wrapped.append(sql)
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as captured:
        fastsql.insert(Tag(name="watched"))
    with connection.execute_wrapper(wrapper):
        assert fastsql.execute('SELECT "name" FROM "tickets_tag" WHERE "name" = %s', ["watched"]) == [
            ("watched",)
        ]
    assert any('INSERT INTO "tickets_tag"' in q["sql"] for q in captured.captured_queries)
    assert wrapped == ['SELECT "name" FROM "tickets_tag" WHERE "name" = %s']


@pytest.mark.django_db
def test_a_failed_statement_raises_django_s_error_and_breaks_the_transaction() -> None:
    fastsql.insert(Tag(name="once"))
    with transaction.atomic():
        with pytest.raises(IntegrityError), transaction.atomic(savepoint=False):
            fastsql.insert(Tag(name="once"))  # django.db's IntegrityError, whichever path ran it
        # As with the ORM, nothing more may run in a transaction whose statement failed.
        with pytest.raises(transaction.TransactionManagementError):
            fastsql.execute("SELECT 1")
        transaction.set_rollback(True)
    assert fastsql.execute('SELECT count(*) FROM "tickets_tag" WHERE "name" = %s', ["once"]) == [(1,)]


@pytest.mark.django_db
def test_values_taken_as_they_are_equal_what_django_would_send() -> None:
    """fastsql skips Django's field calls for plain integers, text and booleans; for every field
    of every model where it does, the value and its type are what those calls give (on
    PostgreSQL, integers typed as the column's width)."""
    from django.apps import apps

    samples: list[object] = [None, 0, 7, -3, 2**40, True, False, "", "x", "é\x01", Role.ADMIN]
    checked = 0
    for model in apps.get_models():
        if not model.__module__.startswith("regulars."):
            continue
        for step in fastsql._plan(connection, model._meta.local_concrete_fields):
            attname, test, _adapt, field = step
            if test is None:
                continue
            for value in samples:
                if not test(value):
                    continue
                obj = model.__new__(model)
                obj.__dict__[attname] = value
                (fast,) = fastsql._values(obj, [step], connection, True)
                slow = field.get_db_prep_save(field.pre_save(obj, True), connection)
                assert fast == slow and type(fast) is type(slow), (model, attname, value)
                checked += 1
    assert checked > 500
