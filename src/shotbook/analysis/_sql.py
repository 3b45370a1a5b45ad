'''SQL over every shot of the store, through an in-memory DuckDB connection.

Three views, built from the store when a query reads them (so each query sees the store as
it is now, and pays only for the views it uses):

``shots``
    One row per shot of every sequence: ``sequence`` (its path), ``shot_index``,
    ``start_time``, ``end_time`` (TIMESTAMPTZ, UTC), then every parameter, scalar data and
    per-shot analysis result as its own column (``mot.detuning``, ``analysis.atom_number``).
    Parameters are in their display units; a column stored in different units by different
    sequences is converted to the unit of the first sequence (by path) that has it. A
    sequence without a column has NULL there. **Arrays (images) are left out**: use
    :func:`read_shots` with :func:`roi_sum` / :func:`crop` for them.
``sequences``
    One row per sequence: ``path``, ``state``, ``shots`` (stored), ``expected`` (shots
    planned, NULL if unknown), ``created``, ``start_time``, ``stop_time``, ``ran_by``,
    ``host``, ``notes``.
``parameters``
    The parameters in long form: ``sequence``, ``shot_index``, ``name``, ``value`` (DOUBLE;
    ints and bools too) and ``unit`` (NULL when none).

Column names with dots must be quoted with double quotes, as DuckDB would otherwise read
``mot.detuning`` as column ``detuning`` of a table ``mot``::

    sql(manager, """
        SELECT "mot.detuning", avg("analysis.atom_number") AS atoms, count(*) AS n
        FROM shots WHERE sequence LIKE '/tof/%'
        GROUP BY 1 ORDER BY 1
    """)

The connection cannot read or write files (``enable_external_access`` is off) and holds
only these views; it is closed after the query.
'''

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import polars as pl

from ._loading import FIXED_COLUMNS, load

if TYPE_CHECKING:
    import duckdb

    from shotbook.session import StorageManager

__all__ = ["VIEWS", "SQLError", "sql"]

VIEWS = ("shots", "sequences", "parameters")
"""The views :func:`sql` offers."""

_SEQUENCES_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "path": pl.String,
    "state": pl.String,
    "shots": pl.Int64,
    "expected": pl.Int64,
    "created": pl.Datetime("us", "UTC"),
    "start_time": pl.Datetime("us", "UTC"),
    "stop_time": pl.Datetime("us", "UTC"),
    "ran_by": pl.String,
    "host": pl.String,
    "notes": pl.String,
}
_PARAMETERS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "sequence": pl.String,
    "shot_index": pl.Int64,
    "name": pl.String,
    "value": pl.Float64,
    "unit": pl.String,
}


class SQLError(ValueError):
    """DuckDB refused the query; the message adds what the views hold and how to quote."""


def _named_views(connection: duckdb.DuckDBPyConnection, query: str) -> set[str]:
    """The views the query reads (DuckDB parses it; names are case-insensitive)."""
    named = {name.lower() for name in connection.get_table_names(query)}
    return named & set(VIEWS)


def _sequences_table(storage_manager: StorageManager) -> pl.DataFrame:
    with storage_manager.session() as session, session.transaction():
        stats = session.sequences.all_sequences()
        notes = [session.sequences.get_notes(item.path) for item in stats]
    rows = [
        {
            "path": str(item.path),
            "state": item.state.value,
            "shots": item.number_of_shots,
            "expected": item.expected_number_of_shots,
            "created": item.created,
            "start_time": item.start_time,
            "stop_time": item.stop_time,
            "ran_by": item.ran_by,
            "host": item.host,
            "notes": text,
        }
        for item, text in zip(stats, notes, strict=True)
    ]
    return pl.DataFrame(rows, schema=_SEQUENCES_SCHEMA, orient="row")


def _shot_tables(storage_manager: StorageManager, views: set[str]) -> dict[str, pl.DataFrame]:
    loaded = load(storage_manager, None, exclude_arrays=True)
    shots = loaded.frame.collect()
    tables: dict[str, pl.DataFrame] = {}
    if "shots" in views:
        tables["shots"] = shots
    if "parameters" in views:
        names = [
            name
            for name in shots.columns
            if loaded.kinds.get(name) == "parameter" and name not in FIXED_COLUMNS
        ]
        if not names or shots.height == 0:
            tables["parameters"] = pl.DataFrame(schema=_PARAMETERS_SCHEMA)
        else:
            unit_of = pl.DataFrame(
                {"name": names, "unit": [loaded.units.get(name) for name in names]},
                schema={"name": pl.String, "unit": pl.String},
            )
            tables["parameters"] = (
                shots.select("sequence", "shot_index", *(pl.col(n).cast(pl.Float64) for n in names))
                .unpivot(
                    index=["sequence", "shot_index"],
                    on=names,
                    variable_name="name",
                    value_name="value",
                )
                .drop_nulls("value")
                .join(unit_of, on="name", how="left", maintain_order="left")
                .sort(["sequence", "shot_index"], maintain_order=True)
                .select(list(_PARAMETERS_SCHEMA))
            )
    return tables


def _explain(error: Exception, query: str) -> str:
    text = str(error).strip()
    hints = [f"DuckDB: {text}", f"the views are {', '.join(VIEWS)}"]
    unquoted = re.search(r'Referenced table "([^"]+)" not found', text)
    if unquoted or "not found in FROM clause" in text:
        hints.append(
            'column names with dots must be in double quotes: SELECT "mot.detuning" FROM shots'
        )
    return "; ".join(hints) + f"\nquery: {query.strip()[:500]}"


def sql(storage_manager: StorageManager, query: str) -> pl.DataFrame:
    """Run a DuckDB SQL query over the views ``shots``, ``sequences`` and ``parameters``.

    See the module doc for what each view holds. Quote dotted column names:

    >>> sql(manager, 'SELECT sequence, avg("analysis.atom_number") FROM shots GROUP BY 1')
    ... # doctest: +SKIP

    Returns the result as a polars DataFrame (times are UTC). Raises :class:`SQLError` when
    DuckDB refuses the query.
    """
    import duckdb

    if not isinstance(query, str) or not query.strip():
        raise ValueError("sql() needs a query, e.g. 'SELECT * FROM sequences'")
    connection = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute("SET python_enable_replacements = false")
        views = _named_views(connection, query)
        tables: dict[str, pl.DataFrame] = {}
        if "sequences" in views:
            tables["sequences"] = _sequences_table(storage_manager)
        if views & {"shots", "parameters"}:
            tables.update(_shot_tables(storage_manager, views))
        for name, table in tables.items():
            connection.register(name, table.to_arrow())
        relation = connection.sql(query)
        if relation is None:  # a statement without a result
            return pl.DataFrame()
        return relation.pl()
    except duckdb.Error as error:
        raise SQLError(_explain(error, query)) from None
    finally:
        connection.close()
