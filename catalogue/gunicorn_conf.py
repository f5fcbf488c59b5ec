"""gunicorn's configuration for production: `gunicorn -c python:catalogue.gunicorn_conf`, which
`catalogue serve --production` runs. Inside the package, so an installed catalogue finds it.

Settings come from the environment through catalogue.config.Config (CATALOGUE_WORKERS, CATALOGUE_THREADS,
CATALOGUE_LOG_LEVEL); the address from --bind.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine

# Workers fork from the master that reads this file, so whatever it imports sits in every worker's memory:
# only what a worker imports anyway. catalogue.migrations checks the schema without importing Alembic, and
# tests/ops/test_lean_worker.py holds the master to that.
from catalogue import migrations
from catalogue.config import Config
from catalogue.ops import logging_config

_config = Config.from_env()

wsgi_app = "catalogue:create_app()"
workers = _config.workers
# Threads, not sync workers: a sync worker serves one connection at a time, so two clients trickling their
# headers (a line every few seconds) blocked every other request for as long as they kept it up. A gthread
# worker waits for a connection's first bytes in its poller and reads a request in one of its threads, so a
# slow client holds one thread, not a worker (tests/ops/test_slow_clients.py). The request-per-thread design
# is safe here: each request has its own database session and the search index guards itself with a lock.
worker_class = "gthread"
threads = _config.threads
# An idle kept-alive connection goes back to the poller and is closed after this many seconds.
keepalive = 5
# Each worker builds its own app (own connection pool, own index handle): nothing opened before the fork.
preload_app = False
# A worker may rebuild the search index on its first request (a new host with an empty index folder).
timeout = 120
graceful_timeout = 30
# The app logs each request as a JSON line with its request id; gunicorn's access log would repeat it.
accesslog = None
# gunicorn 25+ opens a control socket at one fixed path per user: two catalogues on one machine would share
# it. Process supervisors (systemd, containers) manage the catalogue with signals instead.
control_socket_disable = True
logconfig_dict = logging_config(_config.log_level)


def on_starting(server: Any) -> None:
    """Refuse to start, before any worker, on settings unfit for production or an unmigrated database.

    gunicorn prints a RuntimeError's message and exits 1; both errors below are RuntimeErrors.
    """
    config = Config.from_env()
    if config.environment == "production":
        config.check_production()
        for warning in config.production_warnings():
            server.log.warning(warning)
    engine = create_engine(config.database_url)
    try:
        with engine.connect() as connection:
            migrations.check_at_head(connection)
    finally:
        engine.dispose()
