"""The database migrations (Alembic, through Flask-Migrate) and their shared helpers."""
