"""Typed query groups, one per kind of stored thing; a `Transaction` exposes one of each."""
