"""Monthly agreement reports: figures, charts, PDF, frozen snapshots (issue 21)."""
