"""The operations record: alerts with every transition, KPI values per minute and dead letters, kept in a
database (SQLite by default, PostgreSQL in production) so that they outlive the broker."""
