"""Composition root: settings, the `presswatch` command line, scheduling and locking.

Nothing here is built at import time; each command (and each test) builds its own
Settings, engine, session factory and search backend and passes them down."""
