"""The Parquet shot store: a folder per sequence with a journal, parts and a manifest.

Writer, reader, compaction, the manifest and the sidecar locator. Imports no catalog
backend (``_duckdb``, ``_sql``).
"""
