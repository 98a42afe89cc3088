"""The team UI on the private listener (per-person logins)."""
