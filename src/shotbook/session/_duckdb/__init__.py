"""The default backend: a DuckDB catalog file beside the Parquet shot folders."""
