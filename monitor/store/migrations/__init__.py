"""Alembic migrations of Vakt's store (run them with `vakt db upgrade`)."""
