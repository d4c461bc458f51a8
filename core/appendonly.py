"""Tables that refuse UPDATE and DELETE in the database itself, not only by convention."""

from sqlalchemy import DDL, Table, event


def append_only_statements(table_name: str, dialect: str) -> list[str]:
    """The trigger DDL that makes `table_name` append-only on `dialect` (sqlite or postgresql)."""
    if dialect == "postgresql":
        return [
            f"CREATE OR REPLACE FUNCTION {table_name}_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{table_name} is append-only'; END $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {table_name}_no_update BEFORE UPDATE OR DELETE ON {table_name} "
            f"FOR EACH ROW EXECUTE FUNCTION {table_name}_append_only()",
        ]
    return [
        f"CREATE TRIGGER {table_name}_no_update BEFORE UPDATE ON {table_name} "
        f"BEGIN SELECT RAISE(ABORT, '{table_name} is append-only'); END",
        f"CREATE TRIGGER {table_name}_no_delete BEFORE DELETE ON {table_name} "
        f"BEGIN SELECT RAISE(ABORT, '{table_name} is append-only'); END",
    ]


def drop_append_only_statements(table_name: str, dialect: str) -> list[str]:
    """The DDL that lifts append_only_statements again (for downgrades)."""
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table_name}_no_update ON {table_name}",
            f"DROP FUNCTION IF EXISTS {table_name}_append_only()",
        ]
    return [f"DROP TRIGGER IF EXISTS {table_name}_no_update", f"DROP TRIGGER IF EXISTS {table_name}_no_delete"]


def make_append_only(table: Table) -> None:
    """Create the triggers with the table whenever metadata.create_all makes it."""
    for dialect in ("sqlite", "postgresql"):
        for statement in append_only_statements(table.name, dialect):
            event.listen(table, "after_create", DDL(statement).execute_if(dialect=dialect))
