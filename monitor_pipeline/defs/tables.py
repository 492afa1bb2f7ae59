"""How every warehouse table appears in the Dagster catalog: kinds, owners, table name and column schema."""

from __future__ import annotations

import dagster as dg
import duckdb

from monitor_pipeline.warehouse.catalog import canonical_columns, qualified_name, stored_columns

OWNERS = ["team:llm-monitoring"]
TABLE_KINDS = {"duckdb", "table"}
# DuckDB names a file database by its stem: <data_dir>/warehouse.duckdb is `warehouse`.
WAREHOUSE = "warehouse"
_TYPES = {"timestamp": "TIMESTAMP WITH TIME ZONE", "string": "VARCHAR", "int": "BIGINT", "double": "DOUBLE"}


def _constraints(c) -> dg.TableColumnConstraints:
    other = []
    if c.min is not None or c.max is not None:
        other.append(f"between {c.min if c.min is not None else '-inf'} and {c.max if c.max is not None else 'inf'}")
    if c.allowed:
        other.append("one of " + ", ".join(c.allowed))
    return dg.TableColumnConstraints(nullable=not c.required, unique=False, other=other)


def declared_metadata(table: str) -> dict[str, object]:
    """Definition-time metadata of a warehouse table: its name and, for a canonical table, its declared columns."""
    meta: dict[str, object] = {"dagster/table_name": f"{WAREHOUSE}.main.{table}"}
    columns = canonical_columns(table)
    if columns:
        meta["dagster/column_schema"] = dg.TableSchema(
            columns=[dg.TableColumn(c.name, _TYPES[c.type], constraints=_constraints(c)) for c in columns]
        )
    return meta


def stored_metadata(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, dg.MetadataValue]:
    """Materialization metadata of a table as stored now: its qualified name and every column with its DuckDB type."""
    columns = stored_columns(con, table)
    if not columns:  # nothing written yet (an empty day): no schema to show
        return {}
    return {
        "dagster/table_name": dg.MetadataValue.text(qualified_name(con, table)),
        "dagster/column_schema": dg.MetadataValue.table_schema(
            dg.TableSchema(columns=[dg.TableColumn(name, typ) for name, typ in columns])
        ),
    }
