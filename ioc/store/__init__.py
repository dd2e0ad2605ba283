"""The operations record: alerts with every transition, KPI values per minute and dead letters, kept in a
database (SQLite by default, PostgreSQL in production) so that they outlive the broker."""

# In IOC_DATA_DIR: the historian writes its broker's cluster id here once the open alerts are republished
# onto it; `ioc up` starts the worker only then. (Here, not in a module that loads SQLAlchemy: every `ioc`
# command reads it.)
HISTORIAN_READY = "historian.ready"
