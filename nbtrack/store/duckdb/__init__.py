"""The embedded backend: a DuckDB archive plus append-only Parquet segments in one folder."""
