"""Alerts and digests after each sync (docs/alerts.md)."""
