"""Rows in and out without the ORM's per-call SQL compilation, for the hottest write paths.

``Model.objects.create()`` spends 150-300 µs of Python per row compiling the same INSERT again,
several times what the database needs to store the row (profile of ``open_ticket``: two thirds
of its time was query building). The paths that run once per ticket or per inbound message
build their model instances as usual, so defaults, ``auto_now_add`` and field conversion are the
models' own, and write them with SQL compiled once per model and kept for the process.

On SQLite the statements go straight to the sqlite3 connection while nobody watches them (see
``_execute``): Django's four cursor-wrapper layers had cost about 0.5 ms of CPU per ticket.

``insert`` sends ``pre_save`` and ``post_save`` like ``save()`` does, but does not call a model's
own ``save()``: use it only for models whose ``save()`` adds nothing to an INSERT.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, ForeignKey, Model, fields, signals
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute

M = TypeVar("M", bound=Model)

_inserts: dict[tuple[str, type[Model], bool, bool], tuple[str, list[Field[Any, Any]], Plan]] = {}
_selects: dict[tuple[Any, ...], tuple[str, list[str]]] = {}
_qmark: dict[str, str] = {}


def _execute(connection: Any, sql: str, params: Sequence[Any]) -> Any:
    """Run ``sql`` and return its cursor (the caller closes it).

    On SQLite, when nobody watches statements (no execute wrapper, no query log, e.g. outside
    ``CaptureQueriesContext`` and DEBUG) and the connection is open and health-checked, the
    statement goes straight to the sqlite3 connection with its ``%s`` placeholders turned into
    ``?`` once per SQL text, as Django's cursor wrapper would do on every call: the same
    statement, parameters and error translation, without four layers of wrappers a statement.
    Everything else takes Django's cursor."""
    if connection.vendor == "sqlite" and not connection.health_check_done:
        # What Django's cursor() does first on a request's first statement (SQLite: no query).
        connection.close_if_health_check_failed()
    raw = connection.connection
    if (
        raw is not None
        and connection.vendor == "sqlite"
        and not connection.execute_wrappers
        and not connection.queries_logged
        and (connection.health_check_done or not connection.health_check_enabled)
    ):
        connection.validate_no_broken_transaction()
        query = _qmark.get(sql)
        if query is None:
            from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX

            query = _qmark[sql] = FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")
        with connection.wrap_database_errors:
            return raw.execute(query, params)
    if connection.vendor == "postgresql" and hasattr(connection, "execute_directly"):
        direct = connection.execute_directly(sql, params)  # regulars.core.db.postgresql
        if direct is not None:
            return direct
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
    except BaseException:
        cursor.close()
        raise
    return cursor


# --- field values as the database takes them ---------------------------------------------------
#
# ``get_db_prep_save(pre_save(obj))`` costs a few microseconds a field through Django's layers of
# calls; a ticket's rows have about a hundred fields. For the field classes below, with a value of
# the plain Python type, those layers hand the value back unchanged (integers: ``int(value)``;
# text: ``to_python`` keeps any ``str``; booleans likewise; foreign keys: their target field's
# rule), so the value is taken as it is. Any other field class, value type, or a field with its
# own ``pre_save`` (``auto_now``, files) goes through Django's calls as before.

_INTEGERS = (
    fields.AutoField, fields.BigAutoField, fields.SmallAutoField, fields.IntegerField,
    fields.BigIntegerField, fields.SmallIntegerField, fields.PositiveIntegerField,
    fields.PositiveBigIntegerField, fields.PositiveSmallIntegerField,
)  # fmt: skip
_TEXTS = (fields.CharField, fields.TextField, fields.EmailField, fields.SlugField)

Plan = list[tuple[str, Any, Any, Field[Any, Any]]]


def _plain_int(value: Any) -> bool:
    return type(value) is int or value is None  # not bool or an IntegerChoices member: int() them


def _plain_text(value: Any) -> bool:
    return isinstance(value, str) or value is None


def _plain_bool(value: Any) -> bool:
    return type(value) is bool or value is None


def _plan(connection: Any, model_fields: Sequence[Field[Any, Any]]) -> Plan:
    """For each field: its attribute, the test a value passes to be taken as it is (or None),
    what the backend does to such a value (PostgreSQL types integers), and the field."""
    plan: Plan = []
    ints = (
        getattr(connection.ops, "integerfield_type_map", None) if connection.vendor == "postgresql" else None
    )
    for f in model_fields:
        rule = f.target_field if isinstance(f, ForeignKey) else f
        plain = type(f).pre_save is Field.pre_save and type(rule).get_db_prep_save is Field.get_db_prep_save
        test: Any = None
        adapt: Any = None
        if plain and type(rule) in _INTEGERS:
            test = _plain_int
            adapt = ints.get(rule.get_internal_type()) if ints is not None else None  # auto keys: none
        elif plain and type(rule) in _TEXTS:
            test = _plain_text
        elif plain and type(rule) is fields.BooleanField:
            test = _plain_bool
        plan.append((f.attname, test, adapt, f))
    return plan


def _values(obj: Model, plan: Plan, connection: Any, add: bool) -> list[Any]:
    values = []
    state = obj.__dict__
    for attname, test, adapt, f in plan:
        if test is not None and attname in state:
            value = state[attname]
            if test(value):
                values.append(value if adapt is None or value is None else adapt(value))
                continue
        values.append(f.get_db_prep_save(f.pre_save(obj, add), connection))
    return values


def _insert_sql(
    connection: Any, model: type[Model], with_pk: bool, returning: bool
) -> tuple[str, list[Field[Any, Any]], Plan]:
    key = (connection.vendor, model, with_pk, returning)
    found = _inserts.get(key)
    if found is None:
        quote = connection.ops.quote_name
        pk = model._meta.pk
        assert pk is not None
        fields = [f for f in model._meta.local_concrete_fields if with_pk or f is not pk]
        sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (names from the model, values are parameters)
            quote(model._meta.db_table),
            ", ".join(quote(f.column) for f in fields),
            ", ".join(["%s"] * len(fields)),
        )
        if returning:
            sql += f" RETURNING {quote(pk.column)}"
        found = _inserts[key] = (sql, fields, _plan(connection, fields))
    return found


def insert(obj: M, *, need_pk: bool = True) -> M:
    """INSERT ``obj`` (every concrete field) and set its primary key, like ``save()`` would.

    ``need_pk=False``: the caller never uses the new row's key, so nothing is read back (inside
    :func:`pipeline` the statement then costs no round trip of its own)."""
    connection = connections[DEFAULT_DB_ALIAS]  # once: every ``connection.x`` costs a lookup
    model = type(obj)
    alias = DEFAULT_DB_ALIAS
    if signals.pre_save.has_listeners(model):
        signals.pre_save.send(sender=model, instance=obj, raw=False, using=alias, update_fields=None)
    with_pk = obj.pk is not None
    returning = need_pk and not with_pk
    sql, _fields, plan = _insert_sql(connection, model, with_pk, returning)
    values = _values(obj, plan, connection, True)
    cursor = _execute(connection, sql, values)
    try:
        if returning:
            obj.pk = cursor.fetchone()[0]
    finally:
        cursor.close()
    obj._state.adding = False
    obj._state.db = alias
    if signals.post_save.has_listeners(model):
        signals.post_save.send(
            sender=model, instance=obj, created=True, update_fields=None, raw=False, using=alias
        )
    return obj


def insert_if_absent(obj: M, conflict: Sequence[str]) -> bool:
    """INSERT ``obj`` unless a row with the same values of the unique fields ``conflict`` (field
    names, matching one unique constraint) exists: ``INSERT ... ON CONFLICT (...) DO NOTHING``.
    True, and ``obj.pk`` set, when the row was written; False (nothing written, no signals) when
    it existed. Unlike a check followed by an INSERT in a savepoint, a concurrent writer of the
    same key cannot make it fail. Sends ``pre_save`` always and ``post_save`` only for a write."""
    connection = connections[DEFAULT_DB_ALIAS]
    model = type(obj)
    alias = DEFAULT_DB_ALIAS
    if signals.pre_save.has_listeners(model):
        signals.pre_save.send(sender=model, instance=obj, raw=False, using=alias, update_fields=None)
    with_pk = obj.pk is not None
    key = (connection.vendor, model, with_pk, tuple(conflict))
    found = _conflict_inserts.get(key)
    if found is None:
        quote = connection.ops.quote_name
        pk = model._meta.pk
        assert pk is not None
        sql, _fields, plan = _insert_sql(connection, model, with_pk, False)
        columns = ", ".join(quote(_column(_field(model, name))) for name in conflict)
        sql += f" ON CONFLICT ({columns}) DO NOTHING RETURNING {quote(_column(pk))}"
        found = _conflict_inserts[key] = (sql, plan)
    sql, plan = found
    values = _values(obj, plan, connection, True)
    cursor = _execute(connection, sql, values)
    try:
        row = cursor.fetchone()
    finally:
        cursor.close()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = alias
    if signals.post_save.has_listeners(model):
        signals.post_save.send(
            sender=model, instance=obj, created=True, update_fields=None, raw=False, using=alias
        )
    return True


_conflict_inserts: dict[tuple[str, type[Model], bool, tuple[str, ...]], tuple[str, Plan]] = {}
_updates: dict[tuple[str, type[Model], tuple[str, ...]], tuple[str, Plan]] = {}


def _field(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, Field), name
    return field


def _column(field: Field[Any, Any]) -> str:
    assert field.column is not None
    return field.column


def update(obj: Model, *field_names: str) -> None:
    """Write the named fields of ``obj`` to its row, like ``obj.save(update_fields=field_names)``
    (each field's ``pre_save`` runs, so ``auto_now`` fields listed are refreshed; ``pre_save`` and
    ``post_save`` are sent), with the UPDATE compiled once per model and set of fields. For rows
    known to exist (e.g. locked by the caller): where ``save()`` would raise for a missing row,
    this changes nothing."""
    connection = connections[DEFAULT_DB_ALIAS]
    model = type(obj)
    alias = DEFAULT_DB_ALIAS
    names = tuple(field_names)
    if signals.pre_save.has_listeners(model):
        signals.pre_save.send(
            sender=model, instance=obj, raw=False, using=alias, update_fields=frozenset(names)
        )
    key = (connection.vendor, model, names)
    found = _updates.get(key)
    if found is None:
        quote = connection.ops.quote_name
        pk = model._meta.pk
        assert pk is not None
        fields = [_field(model, name) for name in names]
        sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 (names from the model, values are parameters)
            quote(model._meta.db_table),
            ", ".join(f"{quote(_column(f))} = %s" for f in fields),
            quote(_column(pk)),
        )
        found = _updates[key] = (sql, _plan(connection, fields))
    sql, plan = found
    values = _values(obj, plan, connection, False)
    _execute(connection, sql, [*values, obj.pk]).close()
    if signals.post_save.has_listeners(model):
        signals.post_save.send(
            sender=model, instance=obj, created=False, update_fields=frozenset(names), raw=False, using=alias
        )


def select(
    model: type[M],
    where: str,
    params: Sequence[Any],
    *,
    order_by: str = "",
    limit: int | None = None,
    for_update: bool = False,
) -> list[M]:
    """Instances of ``model`` whose row matches the SQL condition ``where`` (columns quoted by the
    caller as needed); the statement is built once per ``where``. For small lookups by key.
    ``limit``: at most that many rows; ``for_update``: lock them (``SELECT ... FOR UPDATE``, like
    ``select_for_update()``: nothing on SQLite, whose writers are serialised anyway)."""
    rows: list[M] = send_select(
        model, where, params, order_by=order_by, limit=limit, for_update=for_update
    ).rows()
    return rows


_TIMES = frozenset({"DateTimeField", "DateField", "TimeField"})


def _selected(connection: Any, column: str, field: Field[Any, Any]) -> str:
    """``column`` as a SELECT reads it. On SQLite a time column comes back as its stored text: a
    bare column of a declared ``datetime`` type would go through sqlite3's converter first, then
    Django's; Django's alone (in ``_converters``) parses the text to the same value."""
    if connection.vendor == "sqlite" and field.get_internal_type() in _TIMES:
        return f"CAST({column} AS TEXT)"
    return column


def _select_sql(
    connection: Any,
    model: type[Model],
    where: str,
    order_by: str,
    limit: int | None = None,
    for_update: bool = False,
) -> tuple[str, list[str]]:
    key = (connection.vendor, model, where, order_by, limit, for_update)
    found = _selects.get(key)
    if found is None:
        quote = connection.ops.quote_name
        fields = list(model._meta.concrete_fields)
        sql = "SELECT {} FROM {} WHERE {}{}".format(  # noqa: S608 (names from the model, the caller's fixed condition)
            ", ".join(_selected(connection, quote(_column(f)), f) for f in fields),
            quote(model._meta.db_table),
            where,
            f" ORDER BY {order_by}" if order_by else "",
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if for_update and connection.features.has_select_for_update:
            sql += " FOR UPDATE"
        found = _selects[key] = (sql, [f.attname for f in fields])
    return found


def select_related(
    model: type[M],
    related: str,
    where: str,
    params: Sequence[Any],
    *,
    memo: bool = False,
    unchanged: dict[Any, Any] | None = None,
) -> list[M]:
    """:func:`select` with the object its foreign key ``related`` points to read in the same
    statement (an inner join: rows without one are left out) and set on each instance, like
    ``select_related(related)``. ``where`` names columns with their table
    (``"accounts_apitoken"."prefix"``). ``memo``, for rows read again and again such as an API
    token and its agent: the rows are kept while the database is unchanged (:func:`unchanged_memo`,
    or ``unchanged``, a memo the caller took) and their converted values while the row is
    (:func:`_instance`)."""
    connection = connections[DEFAULT_DB_ALIAS]
    field = model._meta.get_field(related)
    assert isinstance(field, ForeignKey)
    other: type[Model] = field.related_model
    key = (connection.vendor, model, related, where, "related")
    found = _selects.get(key)
    if found is None:
        quote = connection.ops.quote_name
        table, other_table = quote(model._meta.db_table), quote(other._meta.db_table)
        columns = [
            _selected(connection, f"{table}.{quote(_column(f))}", f) for f in model._meta.concrete_fields
        ]
        columns += [
            _selected(connection, f"{other_table}.{quote(_column(f))}", f)
            for f in other._meta.concrete_fields
        ]
        pk = other._meta.pk
        assert pk is not None
        sql = "SELECT {} FROM {} JOIN {} ON {}.{} = {}.{} WHERE {}".format(  # noqa: S608 (names from the models, the caller's fixed condition)
            ", ".join(columns),
            table,
            other_table,
            other_table,
            quote(_column(pk)),
            table,
            quote(_column(field)),
            where,
        )
        found = _selects[key] = (sql, [])
    sql = found[0]
    names = [f.attname for f in model._meta.concrete_fields]
    # The rows themselves (plain values) while nothing has been committed since they were read.
    reuse = (unchanged if unchanged is not None else unchanged_memo()) if memo else None
    rows = reuse.get((sql, *params)) if reuse is not None else None
    if rows is None:
        cursor = _execute(connection, sql, list(params))
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if reuse is not None:
            reuse[(sql, *params)] = rows
    other_names = [f.attname for f in other._meta.concrete_fields]
    converters, other_converters = _converters(connection, model), _converters(connection, other)
    split = len(names)
    found_rows: list[M] = []
    for row in rows:
        obj = _instance(model, names, converters, row[:split], memo)
        setattr(obj, related, _instance(other, other_names, other_converters, row[split:], memo))
        found_rows.append(obj)
    return found_rows


def _instance(
    model: type[M], names: list[str], converters: list[Any], values: Sequence[Any], memo: bool = False
) -> M:
    """An instance of ``model`` from one row's column values, as the ORM builds it.

    ``memo``: keep the converted values of this exact row (every column equal), so the same row
    read again skips the converters (datetime parsing on SQLite, JSON). Each instance still gets
    values of its own: mutable ones (JSON lists and dicts) are copied."""
    if not memo:
        return _from_db(model, names, [c(v) if c else v for c, v in zip(converters, values, strict=True)])
    key = (model, *values)
    try:
        converted = _converted.get(key)
    except TypeError:  # a value that cannot be a key (PostgreSQL's JSON arrives as a dict)
        return _instance(model, names, converters, values)
    if converted is None:
        converted = [c(v) if c else v for c, v in zip(converters, values, strict=True)]
        if len(_converted) >= CONVERTED_ROWS:
            _converted.clear()
        _converted[key] = converted
    return _from_db(model, names, [v if isinstance(v, _IMMUTABLE) else _copy(v) for v in converted])


def _copy(value: Any) -> Any:
    """A copy of a converted value for one instance: a list of plain values (a token's scopes)
    by slicing, anything else in depth."""
    if type(value) is list and all(isinstance(item, _IMMUTABLE) for item in value):
        return value[:]
    return copy.deepcopy(value)


_plain_models: dict[type[Model], bool] = {}


def _from_db(model: type[M], names: list[str], values: list[Any]) -> M:
    """``model.from_db(...)`` for a row with every concrete field: what ``Model.__init__`` ends
    with for such a row (each value stored under its field's attribute, a fresh ``_state`` marked
    as loaded from the database), without its per-field loop. Models with their own ``__init__``
    or ``from_db``, init signal receivers, or an attribute that is not a field's own descriptor
    take ``from_db`` itself."""
    plain = _plain_models.get(model)
    if plain is None:
        plain = _plain_models[model] = (
            model.__init__ is Model.__init__
            and model.from_db.__func__ is Model.from_db.__func__  # type: ignore[attr-defined]
            and all(
                isinstance(getattr(model, f.attname, None), (DeferredAttribute, ForeignKeyDeferredAttribute))
                for f in model._meta.concrete_fields
            )
        )
    if not plain or signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return model.from_db(DEFAULT_DB_ALIAS, names, values)
    obj = model.__new__(model)
    state = ModelState()
    state.adding = False
    state.db = DEFAULT_DB_ALIAS
    obj._state = state
    obj.__dict__.update(zip(names, values, strict=True))
    return obj


CONVERTED_ROWS = 1024
_converted: dict[tuple[Any, ...], list[Any]] = {}
_IMMUTABLE = (
    str,
    int,
    float,
    bytes,
    type(None),
    datetime.datetime,
    datetime.date,
    datetime.time,
    Decimal,
    UUID,
)


_converters_cache: dict[tuple[str, type[Model]], list[Any]] = {}


def _converters(connection: Any, model: type[Model]) -> list[Any]:
    """Per column, the function turning a database value into the field's Python value (JSON,
    UUIDs and datetimes on SQLite), as the ORM's compiler would apply it; ``None`` when none."""
    key = (connection.vendor, model)
    found = _converters_cache.get(key)
    if found is None:
        found = []
        for field in model._meta.concrete_fields:
            fns = connection.ops.get_db_converters(
                field.get_col(model._meta.db_table)
            ) + field.get_db_converters(connection)
            found.append(_chain(connection, fns, field) if fns else None)
        _converters_cache[key] = found
    return found


def _chain(connection: Any, fns: list[Any], field: Field[Any, Any]) -> Any:
    expression = field.get_col(field.model._meta.db_table)

    def convert(value: Any) -> Any:
        for fn in fns:
            value = fn(value, expression, connection)
        return value

    return convert


# --- answers kept while the database is unchanged ----------------------------------------------
#
# An API client polling the same list reads the same rows again and again. Both databases can
# tell cheaply whether anything at all was committed since a moment, and when nothing was, every
# table reads as it did, so whatever was computed from it is still the answer:
#
# - SQLite, per connection: ``PRAGMA data_version`` changes when any other connection (thread,
#   process) commits, and the connection's ``total_changes`` counts its own writes (rows, not
#   schema changes: a process that migrates its own database should ``forget_unchanged()``).
# - PostgreSQL, per process: ``pg_current_snapshot()`` lists the next transaction id and those in
#   progress. Every write runs in a transaction with an id, so an equal snapshot means that no
#   transaction has committed (or started writing) since: one round trip, in place of the reads.

# Kept small: an entry can be a whole page (~30 kB), per SQLite connection or PostgreSQL process.
UNCHANGED_MEMO_SIZE = 128
_shared_memo: tuple[str, dict[Any, Any]] | None = None


def unchanged_memo() -> dict[Any, Any] | None:
    """A dict for answers read from the database, emptied as soon as anything has been committed
    to it (by anyone) since it was last handed out; ``None`` inside a transaction (whose view of
    the data is its own) and on other databases.

    Take the memo before reading what is kept in it: an answer stored under a mark taken first
    is dropped at the next change, whenever during the read that change came."""
    global _shared_memo
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.in_atomic_block:
        return None
    memo: dict[Any, Any]
    if connection.vendor == "postgresql":
        quick = getattr(connection, "current_snapshot", None)  # regulars.core.db.postgresql
        snapshot = quick() if quick is not None else execute("SELECT pg_current_snapshot()::text")[0][0]
        shared = _shared_memo
        if shared is not None and shared[0] == snapshot:
            memo = shared[1]
            if len(memo) >= UNCHANGED_MEMO_SIZE:
                memo.clear()
            return memo
        memo = {}
        _shared_memo = (snapshot, memo)
        return memo
    if connection.vendor != "sqlite":
        return None
    version = execute("PRAGMA data_version")[0][0]  # opens and checks the connection as any read
    raw = connection.connection
    changes = raw.total_changes
    held = getattr(connection, "_unchanged_memo", None)
    if held is not None and held[0] is raw and held[1] == version and held[2] == changes:
        memo = held[3]
        if len(memo) >= UNCHANGED_MEMO_SIZE:
            memo.clear()
        return memo
    memo = {}
    connection._unchanged_memo = (raw, version, changes, memo)  # type: ignore[attr-defined]
    return memo


def forget_unchanged() -> None:
    """Drop the memo (tests that need the reads underneath it)."""
    global _shared_memo
    _shared_memo = None
    connections[DEFAULT_DB_ALIAS].__dict__.pop("_unchanged_memo", None)


def run(sql: str, params: Sequence[Any] = ()) -> None:
    """Run a statement whose answer nobody reads (inside :func:`pipeline`: no round trip)."""
    _execute(connections[DEFAULT_DB_ALIAS], sql, list(params)).close()


def changed(sql: str, params: Sequence[Any] = ()) -> int:
    """Run a write and return how many rows it changed (a conditional UPDATE deciding something)."""
    cursor = _execute(connections[DEFAULT_DB_ALIAS], sql, list(params))
    try:
        return int(cursor.rowcount)
    finally:
        cursor.close()


def execute(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one statement and return its rows (empty for statements without a result)."""
    cursor = _execute(connections[DEFAULT_DB_ALIAS], sql, list(params))
    try:
        return cursor.fetchall() if cursor.description else []
    finally:
        cursor.close()


# --- fewer round trips on PostgreSQL ---------------------------------------------------------
#
# SQLite runs in-process, so a statement costs no round trip. PostgreSQL answers each statement
# over the network: ~15 statements per ticket were ~15 round trips, most of the time spent.
# Inside ``pipeline()`` psycopg sends statements without waiting for their answers; it waits
# only when a result is read (``Pending.rows()``) and when the block ends. Statements whose
# results are read together (``send`` several, then read) cost one round trip; writes whose
# answers nobody reads (``insert(..., need_pk=False)``, rows with a known key) cost none until
# the end of the block. Errors surface at the latest at the end of the block, as Django's usual
# database exceptions, so the surrounding ``atomic()`` rolls everything back as before.


@contextmanager
def pipeline() -> Iterator[None]:
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    if raw._pipeline is not None:  # already inside one: nothing to add
        yield
        return
    with connection.wrap_database_errors, raw.pipeline():
        yield


class Pending:
    """The answer to a statement sent with :func:`send`, read on demand."""

    def __init__(self, cursor: Any, convert: Any = None) -> None:
        self._cursor = cursor
        self._convert = convert

    def rows(self) -> list[Any]:
        try:
            rows = self._cursor.fetchall()
        finally:
            self._cursor.close()
        return self._convert(rows) if self._convert else rows


def send(sql: str, params: Sequence[Any] = ()) -> Pending:
    """Send a statement whose rows are read later with ``.rows()``."""
    return Pending(_execute(connections[DEFAULT_DB_ALIAS], sql, list(params)))


def send_select(
    model: type[M],
    where: str,
    params: Sequence[Any],
    *,
    order_by: str = "",
    limit: int | None = None,
    for_update: bool = False,
) -> Pending:
    """:func:`select`, sent now and read later: ``.rows()`` gives the instances."""
    connection = connections[DEFAULT_DB_ALIAS]
    sql, names = _select_sql(connection, model, where, order_by, limit, for_update)
    converters = _converters(connection, model)
    cursor = _execute(connection, sql, list(params))

    def build(rows: list[Any]) -> list[M]:
        return [_instance(model, names, converters, row) for row in rows]

    return Pending(cursor, build)


_sequences: dict[type[Model], str] = {}


def reserve_ids(*models: type[Model]) -> Pending | None:
    """PostgreSQL: the next primary key of each model, taken from its sequence now, so rows can
    be written without waiting for ``RETURNING``. ``None`` on SQLite (keys come from the insert)."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return None
    missing = [m for m in models if m not in _sequences]
    if missing:
        with connection.cursor() as cursor:
            for model in missing:
                pk = model._meta.pk
                assert pk is not None
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [model._meta.db_table, pk.column])
                _sequences[model] = cursor.fetchone()[0]
    return send("SELECT " + ", ".join("nextval(%s)" for _ in models), [_sequences[m] for m in models])
