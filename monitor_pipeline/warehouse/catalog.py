"""What the warehouse holds of a table: its columns and their types, as DuckDB reports them (views included)."""

from __future__ import annotations

import duckdb

from monitor_pipeline.warehouse.schema import TABLES, Column

# The schema DuckDB gives the warehouse file (`<data_dir>/warehouse.duckdb`): tables are <catalog>.main.<table>.
DATABASE_SCHEMA = "main"


def stored_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of each column of `table` in order; empty when the table does not exist yet."""
    return [
        (name, typ)
        for name, typ in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [table]
        ).fetchall()
    ]


def qualified_name(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """`<database>.main.<table>` as DuckDB names it on this connection."""
    return f"{con.execute('SELECT current_database()').fetchall()[0][0]}.{DATABASE_SCHEMA}.{table}"


def canonical_columns(table: str) -> tuple[Column, ...]:
    """The canonical columns of `table` (warehouse.schema), empty for a table the engine derives."""
    schema = TABLES.get(table)
    return schema.columns if schema else ()
