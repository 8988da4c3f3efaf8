"""The read side: what the published warehouse says, as queries with named parameters, money text and
CSV exports. Shared by the dashboard, the `export` command and (soon) finance reports and alerts, so
it imports neither Streamlit nor the API client: every query runs through a `reader` passed in."""
