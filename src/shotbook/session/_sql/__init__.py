"""The SQL backends: SQLite (one file) and PostgreSQL (a server), catalog and shots alike."""
