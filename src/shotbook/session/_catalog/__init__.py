"""The catalog logic every backend shares: sessions, paths, sequences and their protocols.

A backend supplies a small catalog (its SQL dialect, transactions) and a shot storage;
everything a user calls through an :class:`~shotbook.session.ExperimentSession` is written
once here. Nothing in this package imports a backend (``_duckdb``, ``_sql``).
"""
