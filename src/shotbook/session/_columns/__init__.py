"""Arrow encoding of shot columns: kinds, dtypes, shapes and units of parameters and data.

Shared by the Parquet shot store and the SQL backends; imports no backend.
"""
