"""The pure parts of the notification planner (see `monitor.notify.planner`).

- `values`: what the planner reads (`CaseView`, `WindowView`) and writes (`Planned`, `Key`);
- `timeline`: paging eras, stops and quiet intervals read from an incident's timeline;
- `pages`: escalation slots per era, grouped per recipient into single pages and digests;
- `customers`: the customer's emails about a case;
- `warnings`: team warnings; `maintenance`: maintenance announcements.

No I/O, no clock reads, no store, aiohttp or SQLAlchemy (import-linter forbids them).
"""
