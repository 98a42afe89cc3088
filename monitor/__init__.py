"""Vakt: a self-hosted uptime monitor and on-call alerter that keeps support agreements."""

__version__ = "0.1.0"
