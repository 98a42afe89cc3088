"""Notifications: what to send and when (the planner), and how it is rendered and delivered.

- `message`: the payload every outbox row carries (JSON), and the rendered message values;
- `render`: payload -> subject, text and HTML (Jinja2 + gettext catalogs: en, nb, nl);
- `channels`: one module per channel (email, slack, webhook, pagerduty, ntfy), one registry;
- `dispatcher`: claims due outbox rows under a lease, sends, records every attempt, retries.

This package's `__init__` imports nothing, so the pure planner can import `monitor.notify.message`
without pulling in aiohttp, SMTP or the store.
"""
