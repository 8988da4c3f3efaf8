"""The Streamlit dashboard: reads the published warehouse only, never the API."""
