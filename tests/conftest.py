"""Shared fixtures: an app on a real database (a SQLite file, or PostgreSQL when
CATALOGUE_DATABASE_URL is set), created through the same code paths users take."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, Table, bindparam, create_engine, insert, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from catalogue import create_app, migrations
from catalogue.auth import accounts
from catalogue.config import Config
from catalogue.db import Base, database_of
from catalogue.search import follower_of

T = TypeVar("T")

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "corpus"  # real public OpenAPI documents with their verdicts (sources in verdicts.json)


def drop_tables(url: str) -> None:
    """Drop every catalogue table at url (a shared PostgreSQL test database starts and ends empty)."""
    import catalogue.auth.models
    import catalogue.events
    import catalogue.notify.models
    import catalogue.services.models  # noqa: F401

    _SCHEMA_READY.discard(url)
    _forget_reset(url)
    engine = create_engine(url)
    try:
        Base.metadata.drop_all(engine)
    finally:
        engine.dispose()


def database_url(folder: Path) -> str:
    """The test database: CATALOGUE_DATABASE_URL when set (PostgreSQL in CI), else a SQLite file in folder."""
    return os.environ.get("CATALOGUE_DATABASE_URL") or f"sqlite:///{folder / 'test.sqlite3'}"


_RUNNING: list[Flask] = []

# Making the schema costs about 0.3 s a test (DDL is slow on both databases), against a few milliseconds to
# copy a SQLite file or to delete the rows of a PostgreSQL schema that is already there; over 1,700 tests that
# is minutes of CI. Each test still starts on a database with every table and no row, made by create_all.
_SQLITE_TEMPLATE: list[Path] = []
_SCHEMA_READY: set[str] = set()  # PostgreSQL URLs whose tables this process made and nothing has dropped since
_RESET: dict[str, tuple[Engine, str]] = {}  # per PostgreSQL URL: a kept connection and the statement emptying it
# Per name: the rows, the index and what the build returned of the first catalogue app_from_snapshot made.
_SNAPSHOTS: dict[str, tuple[dict[str, list[dict[str, Any]]], Path, Any]] = {}


# CI runs the suite twice side by side, on SQLite and on PostgreSQL, one process on each core. A test whose
# outcome cannot depend on the database need not run twice: with CATALOGUE_TEST_SHARE=k/n, such tests run only
# in the k-th of n shares (whole modules, dealt in turn), so the two passes split them and each core has about
# the same work. Without the variable (a developer's `make test`) every test runs. A test depends on the
# database when it uses an app fixture, or when its module makes an app or hands the database to a command
# itself (the words below); a module of page renderings that only read the seed catalogue says so with the
# mark `database_independent`.
_DATABASE_FIXTURES = frozenset({"app", "seeded", "live_app", "empty_url"})
_DATABASE_WORDS = (
    "app_on_empty_database",
    "seeded_app",
    "app_from_snapshot",
    "create_app",
    "database_url",
    "CATALOGUE_DATABASE_URL",
    "running_app",
)
_MODULE_USES_DATABASE: dict[Path, bool] = {}


def _module_uses_database(path: Path) -> bool:
    if path not in _MODULE_USES_DATABASE:
        text = path.read_text("utf-8")
        _MODULE_USES_DATABASE[path] = any(word in text for word in _DATABASE_WORDS)
    return _MODULE_USES_DATABASE[path]


def _database_independent(item: pytest.Item) -> bool:
    if item.get_closest_marker("database_independent"):
        return True
    if Path(str(item.fspath)).parent.name == "browser":
        # What a page does in a real browser is the same on either database (the database behind the pages is
        # tested on both by the other tests), and browser tests are the slowest: each runs in one pass only.
        return True
    fixtures = set(getattr(item, "fixturenames", ()))
    return not fixtures & _DATABASE_FIXTURES and not _module_uses_database(Path(str(item.fspath)))


def _share() -> tuple[set[int], int] | None:
    """The shares this pass runs, and how many there are: "k/n", or "j,k/n" for several shares of n."""
    value = os.environ.get("CATALOGUE_TEST_SHARE", "").strip()
    if not value:
        return None
    mine, _, count = value.partition("/")
    shares = mine.split(",")
    if not (count.isdigit() and all(share.isdigit() and 1 <= int(share) <= int(count) for share in shares)):
        raise pytest.UsageError(f"CATALOGUE_TEST_SHARE must be k/n or j,k/n with 1 <= k <= n, not {value!r}")
    return {int(share) for share in shares}, int(count)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With CATALOGUE_TEST_SHARE=k/n, keep only this share of the tests that touch no database."""
    share = _share()
    if share is None:
        return
    mine, count = share
    independent = [item for item in items if _database_independent(item)]
    modules = sorted({str(item.fspath) for item in independent})
    dealt = {module: index % count + 1 for index, module in enumerate(modules)}
    named = ",".join(str(share) for share in sorted(mine))
    skip = pytest.mark.skip(
        reason=f"the same on either database: runs in another share than {named}/{count} (CI's other pass)"
    )
    for item in independent:
        if dealt[str(item.fspath)] not in mine:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The shared PostgreSQL test database ends as it started, without the catalogue's tables."""
    for url in list(_SCHEMA_READY):
        drop_tables(url)


def running_app() -> Flask:
    """The app of the running test, for helpers that take none (each app has its own database)."""
    return _RUNNING[-1]


def _sqlite_template() -> Path:
    """A SQLite file with every table and no row, made once per test process through create_all."""
    if not _SQLITE_TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="catalogue-template-"))
        app = create_app(
            Config(
                instance_path=folder,
                database_url=f"sqlite:///{folder / 'template.sqlite3'}",
                index_dir=folder / "index",
            )
        )
        database_of(app).create_all()
        app.extensions["catalogue.search"].index.open()  # built from the empty database: sections only
        app.extensions["catalogue.search"].index.close()
        database_of(app).engine.dispose()  # the last connection closes: the write-ahead log is folded in
        _SQLITE_TEMPLATE.append(folder / "template.sqlite3")
    return _SQLITE_TEMPLATE[0]


def _empty_index_template() -> Path:
    """The search index of an empty catalogue (made with the SQLite template), to copy into a new test app:
    it has applied no event, so it is as right for an empty PostgreSQL database as for a SQLite one."""
    return _sqlite_template().parent / "index"


def _cyclic(table: Table) -> list[str]:
    """The columns of table whose foreign key closes a cycle (added after the tables: use_alter)."""
    return [fk.parent.name for fk in table.foreign_keys if fk.use_alter or fk.constraint.use_alter]  # type: ignore[union-attr]


def _sequences(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema()")
        )
        return [row[0] for row in rows]


def _reset_statement(engine: Engine) -> str:
    """One round trip that empties every table and restarts every id sequence: first the links that make a
    cycle, then the rows, children before parents."""
    statements = [
        f'UPDATE "{table.name}" SET ' + ", ".join(f'"{column}" = NULL' for column in _cyclic(table))
        for table in Base.metadata.sorted_tables
        if _cyclic(table)
    ]
    statements += [f'DELETE FROM "{table.name}"' for table in reversed(Base.metadata.sorted_tables)]
    statements += [f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in _sequences(engine)]
    return ";\n".join(statements)


def _forget_reset(url: str) -> None:
    """Drop the kept connection and statement of url (its tables are about to be dropped or made anew)."""
    engine, _statement = _RESET.pop(url, (None, ""))
    if engine is not None:
        engine.dispose()


def _empty_postgresql(url: str) -> None:
    """Leave every table at url with no row and its ids starting at 1 again, as if just created.

    Deleting the rows of a schema this process made is 20 times faster than dropping and creating it, and
    doing it in one statement on a kept connection takes about 7 ms against 50 to 90 ms for a new connection
    and a statement per table (it runs twice a test); anything unexpected (a table gone, a column changed by a
    migration test) falls back to drop and create.
    """
    if url in _SCHEMA_READY:
        if url not in _RESET:
            engine = create_engine(url, pool_size=1)
            _RESET[url] = (engine, _reset_statement(engine))
        engine, statement = _RESET[url]
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql(statement)
            return
        except SQLAlchemyError:
            _forget_reset(url)
    drop_tables(url)  # whatever an interrupted run or another test left behind


def close_app(app: Flask) -> None:
    """Stop the threads of app (the index follower, the mail sender), close its index and its connections.

    A test that makes an app itself calls this at its end: a mail sender left running wakes every minute and
    writes to whatever database is then at its URL, on PostgreSQL the one every later test shares.
    """
    follower_of(app).stop()
    app.extensions["catalogue.notify"].stop()
    app.extensions["catalogue.search"].index.close()
    database_of(app).engine.dispose()


@contextmanager
def app_on_empty_database(
    folder: Path, index_dir: Path | None = None, rows: dict[str, list[dict[str, Any]]] | None = None, **settings: Any
) -> Iterator[Flask]:
    """An app on an empty database with its index in folder (settings: more Config fields, e.g. the SMTP
    server); the database is emptied again afterwards. With rows (per table name), the database holds them
    before the app starts, so no thread of the app (the mail sender, the index follower) sees it empty."""
    url = database_url(folder)
    if url.startswith("sqlite"):
        if not (folder / "test.sqlite3").exists():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_sqlite_template(), folder / "test.sqlite3")
    else:
        _empty_postgresql(url)
    if rows is not None:
        _restore_rows(url, rows)
    if index_dir is None and not (folder / "index").exists():
        # The index of an empty catalogue (the document's sections only), built once per process: building it
        # in every test took about 2 s of each test that searched or wrote.
        shutil.copytree(_empty_index_template(), folder / "index")
    app = create_app(
        Config(instance_path=folder, database_url=url, index_dir=index_dir or folder / "index", **settings)
    )
    database = database_of(app)
    database.create_all()
    if not url.startswith("sqlite"):
        with database.engine.begin() as connection:
            _stamp_head(connection)
        _SCHEMA_READY.add(url)
    # No app context stays pushed during the test: each request gets its own, as in production,
    # so a request's session is closed when the request ends and holds no lock afterwards.
    _RUNNING.append(app)
    try:
        yield app
    finally:
        _RUNNING.remove(app)
        close_app(app)
        if not url.startswith("sqlite"):  # a SQLite file dies with its folder
            _empty_postgresql(url)


def _stamp_head(connection: Connection) -> None:
    """Record the schema of the shared PostgreSQL test database as migrated, as Database.create_all does for a
    database it makes whole: a test before may have dropped the tables or the record of their revision (the
    migration tests do), and the app would then refuse every request with a 503 (never migrated) and
    `catalogue seed` try to create the tables again."""
    if migrations.current(connection) != migrations.head():
        # Written as Alembic writes it (its own stamp command would open a connection of its own).
        connection.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
        )
        connection.exec_driver_sql("DELETE FROM alembic_version")
        connection.execute(
            text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": migrations.head()}
        )


def _restore_rows(url: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Insert rows (per table name) into the empty database at url: first without the links that make a cycle,
    then those links; on PostgreSQL the id sequences then go on after the largest id."""
    engine = create_engine(url)
    try:
        if not url.startswith("sqlite") and url not in _SCHEMA_READY:  # a SQLite copy of the template has them
            with engine.begin() as connection:
                Base.metadata.create_all(connection)
                _stamp_head(connection)
            _SCHEMA_READY.add(url)
        _insert_rows(engine, rows)
    finally:
        engine.dispose()


def _insert_rows(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Emptied again in the same transaction: on the one shared database, a thread of an earlier test's app
            # (its mail sender, say) may have written a row since the emptying (seen once in 2,000 tests, as a
            # notifier cursor that the copy's own then collided with).
            connection.exec_driver_sql(_reset_statement(engine))
        for table in Base.metadata.sorted_tables:
            if rows[table.name]:
                unlinked = dict.fromkeys(_cyclic(table))
                connection.execute(insert(table), [{**row, **unlinked} for row in rows[table.name]])
        for table in Base.metadata.sorted_tables:
            for column in _cyclic(table):
                key = next(iter(table.primary_key.columns))
                links = [
                    {"row_key": row[key.name], "link": row[column]}
                    for row in rows[table.name]
                    if row[column] is not None
                ]
                if links:
                    update = table.update().where(key == bindparam("row_key"))
                    connection.execute(update.values({column: bindparam("link")}), links)
        if connection.dialect.name == "postgresql":
            for table in Base.metadata.sorted_tables:
                if "id" in table.c and rows[table.name]:
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), MAX(id)) FROM \"{table.name}\""
                        )
                    )


@contextmanager
def app_from_snapshot(folder: Path, name: str, build: Callable[[Flask], T]) -> Iterator[tuple[Flask, T]]:
    """An app on an empty database with what build(app) makes, and what build returned.

    The first call of a test process with a given name runs build; the others get a copy of its rows and its
    index (the same ids, so the index agrees with the database, and the same return value, which may name
    those ids), in a fraction of the time build takes.
    """
    if name in _SNAPSHOTS:
        rows, index, made = _SNAPSHOTS[name]
        shutil.copytree(index, folder / "index")
        with app_on_empty_database(folder, rows=rows) as app:
            yield app, made
        return
    with app_on_empty_database(folder) as app:
        made = build(app)
        with app.app_context():
            app.extensions["catalogue.search"].index.sync()
        assert follower_of(app).idle()  # no sync of the follower's thread still writing the index copied below
        with database_of(app).engine.connect() as connection:
            rows = {
                t.name: [dict(r._mapping) for r in connection.execute(select(t).order_by(*t.primary_key.columns))]
                for t in Base.metadata.sorted_tables
            }
        snapshot = Path(tempfile.mkdtemp(prefix=f"catalogue-{name}-"))
        shutil.copytree(folder / "index", snapshot / "index")
        _SNAPSHOTS[name] = (rows, snapshot / "index", made)
        yield app, made


def _seed(app: Flask) -> None:
    from catalogue.cli import main

    result = app.test_cli_runner().invoke(main, ["seed"])
    assert result.exit_code == 0, result.output


@contextmanager
def seeded_app(folder: Path) -> Iterator[Flask]:
    """An app on an empty database with the seed services loaded through `catalogue seed`.

    The first seeded app of a test process runs the command; the others get a copy of its rows and its index,
    which takes a fraction of a second instead of seconds. tests/test_seed.py runs the command itself wherever
    it tests seeding.
    """
    with app_from_snapshot(folder, "seeded", _seed) as (app, _nothing):
        yield app


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One seeded app for a whole test module (modules that write keep their changes to themselves)."""
    with seeded_app(tmp_path_factory.mktemp("seeded")) as app:
        yield app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    with app_on_empty_database(tmp_path) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_user(app: Flask):
    """Create a user through the registry and return its API token."""

    def make(email: str = "submitter@istat.example", org: str = "ISTAT", role: str = "submitter") -> str:
        with database_of(app).transaction() as session:
            _user, token = accounts.create_user(session, email, org, role)
        return token

    return make


@pytest.fixture
def good_text() -> str:
    return (DATA / "good.yaml").read_text("utf-8")


def drop_everything(url: str) -> None:
    """Drop every table at url, Alembic's version table included (create_all's drop_all leaves it)."""
    _SCHEMA_READY.discard(url)
    _forget_reset(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for name in inspect(connection).get_table_names():
                connection.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    finally:
        engine.dispose()


@pytest.fixture
def empty_url(tmp_path: Path) -> Iterator[str]:
    """The test database, with no table at all: a new SQLite file, or the PostgreSQL one emptied."""
    url = database_url(tmp_path)
    if not url.startswith("sqlite"):
        drop_everything(url)
    yield url
    if not url.startswith("sqlite"):
        drop_everything(url)
