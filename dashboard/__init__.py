"""The Streamlit dashboard: reads the published warehouse only, never the API."""

DEFAULT_WAREHOUSE = "var/warehouse.duckdb"  # the sync's default too (etl/settings.py)
