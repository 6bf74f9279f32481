"""Engine-specific execution of the transaction-level rules (DuckDB, Spark)."""
