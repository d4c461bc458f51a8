"""Statements compiled once per database and run on the driver's own cursor.

On a request that runs a few small statements, SQLAlchemy's work around each one
(its cache key, processing the parameters, setting up the result, the events)
costs several times what the database spends on it. A `Prepared` statement is
an ordinary Core statement, compiled once for each dialect it meets; each run
passes its parameters through the same type processors SQLAlchemy would apply
and its rows through the same result processors, and runs on the cursor of the
connection given, inside that connection's transaction. Listeners of
`before_cursor_execute` still see every statement (SQLite's write lock is taken
there, see core._sqlite_write_after_reads; no other engine events are sent), and
a driver error comes out as SQLAlchemy's own exception (an IntegrityError is
still an IntegrityError).

Only for statements with a fixed shape: no expanding IN (build one statement per
count instead, as `insert_rows` does for rows).
"""
from collections import namedtuple
from functools import cache

from sqlalchemy import Connection, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

# A row a prepared statement returned: a named tuple of its columns, by their keys.
Record = tuple


class _Plan:
    """A statement as compiled for one dialect: its SQL, how to build its parameters, how to read its rows."""

    __slots__ = ("sql", "positional", "binds", "defaults", "columns", "row", "readers")

    def __init__(self, statement: ClauseElement, dialect: Dialect):
        compiled = statement.compile(dialect=dialect)
        if compiled.escaped_bind_names or any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("a prepared statement takes plain parameter names and no expanding IN")
        self.sql = compiled.string
        self.positional = compiled.positional
        names = compiled.positiontup if compiled.positional else list(compiled.binds)
        # Each parameter's type processor, as SQLAlchemy would apply it (None when the driver takes the value as is).
        self.binds = tuple((name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                           for name in names)
        # Values fixed in the statement itself (a literal given to .values() or a comparison).
        self.defaults = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        # What it returns: a SELECT's columns, or an INSERT's or UPDATE's RETURNING (none without one).
        self.columns = list(statement.exported_columns)
        self.row = namedtuple("Row", [column.key for column in self.columns]) if self.columns else None
        self.readers = None  # the result processors, known once the driver has described the rows

    def parameters(self, params: dict):
        defaults = self.defaults
        values = []
        for name, process in self.binds:
            value = params[name] if name in params else defaults[name]
            values.append(value if process is None or value is None else process(value))
        return tuple(values) if self.positional else dict(zip((name for name, _ in self.binds), values))

    def rows(self, cursor, dialect: Dialect) -> list:
        fetched = cursor.fetchall()
        if self.readers is None:
            self.readers = tuple(column.type.dialect_impl(dialect).result_processor(dialect, described[1])
                                 for column, described in zip(self.columns, cursor.description))
        make, readers = self.row._make, self.readers
        return [make(value if read is None or value is None else read(value)
                     for read, value in zip(readers, raw)) for raw in fetched]


class Prepared:
    """A Core statement compiled once per dialect, run on the connection's driver cursor."""

    def __init__(self, statement: ClauseElement):
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = _Plan(self.statement, dialect)
        return plan

    def run(self, connection: Connection, params: dict | None = None) -> tuple[list, int]:
        """Run with `params` (by bind name); returns (the rows it returned, as named tuples, and its rowcount)."""
        dialect = connection.dialect
        plan = self.plan(dialect)
        parameters = plan.parameters(params or {})
        cursor = connection.connection.cursor()
        try:
            if connection._has_events or connection.engine._has_events:
                for listener in connection.dispatch.before_cursor_execute:
                    listener(connection, cursor, plan.sql, parameters, None, False)
            try:
                cursor.execute(plan.sql, parameters)
            except dialect.loaded_dbapi.Error as exc:
                # As SQLAlchemy handles it: wrapped in its exception, the connection invalidated if it was lost.
                connection._handle_dbapi_exception(exc, plan.sql, parameters, cursor, None)
            rows = plan.rows(cursor, dialect) if plan.row is not None else []
            return rows, cursor.rowcount
        finally:
            cursor.close()

    def rows(self, connection: Connection, params: dict | None = None) -> list:
        return self.run(connection, params)[0]


@cache
def insert_rows(table: Table, columns: tuple[str, ...], count: int) -> Prepared:
    """INSERT of `count` rows of `columns` into `table`, returning every column of each row.

    Row i's parameters are named `<column>_<i>`. The rows may come back in any order. A column not
    given takes its default: a fixed one, as SQLAlchemy would give it, or the database's own; a column
    whose default SQLAlchemy would compute (a function) must be given.
    """
    fixed = {}
    for column in table.c:
        if column.key in columns or column.default is None:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"{table.name}.{column.key} has a computed default: give it")
        fixed[column.key] = column.default.arg
    values = [{**{name: bindparam(f"{name}_{i}", type_=table.c[name].type) for name in columns},
               **{name: bindparam(f"{name}_{i}", value, type_=table.c[name].type) for name, value in fixed.items()}}
              for i in range(count)]
    return Prepared(insert(table).values(values).returning(*table.c))


def row_params(columns: tuple[str, ...], rows: list[dict]) -> dict:
    """The parameters of `insert_rows(table, columns, len(rows))` for these rows."""
    return {f"{name}_{i}": row[name] for i, row in enumerate(rows) for name in columns}
