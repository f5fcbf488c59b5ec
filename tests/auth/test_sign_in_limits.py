"""Failed sign-ins are limited per account and per client address, counted where every worker sees them."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.auth.test_sign_in import PASSWORD, add_user, csrf
from tests.conftest import close_app, database_url, drop_tables

REDIS = ("127.0.0.1", 6379)


def attempt(client, email: str, password: str = "wrong password!", address: str = "127.0.0.1") -> int:
    """One sign-in from address; its status (302 signed in, 401 refused, 429 limited)."""
    token = csrf(client, "/auth/sign-in")
    return client.post(
        "/auth/sign-in",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    ).status_code


def test_one_account_is_limited_and_another_from_the_same_address_is_not(app, client):
    add_user(app, email="limited@istat.example")
    add_user(app, email="other@istat.example")
    codes = [attempt(client, "limited@istat.example") for _ in range(6)]
    assert codes == [401] * 5 + [429]
    # Even the right password waits now: the limit protects the account, not one guess.
    assert attempt(client, "limited@istat.example", PASSWORD) == 429
    assert attempt(client, "other@istat.example", PASSWORD) == 302


def test_one_account_tried_from_many_addresses_is_limited(app, client):
    add_user(app, email="target@istat.example")
    codes = [attempt(client, "target@istat.example", address=f"192.0.2.{n}") for n in range(1, 8)]
    assert codes == [401] * 5 + [429] * 2


def test_many_accounts_tried_from_one_address_are_limited(app, client):
    codes = [attempt(client, f"guess{n}@istat.example", address="198.51.100.7") for n in range(15)]
    assert codes == [401] * 10 + [429] * 5
    # Another address is not held up by it.
    assert attempt(client, "guess0@istat.example", address="198.51.100.8") == 401


def test_successful_sign_ins_do_not_use_up_the_limits(app, client):
    add_user(app, email="busy@istat.example")
    for _ in range(12):  # an office behind one address, everybody signing in
        assert attempt(client, "busy@istat.example", PASSWORD, address="203.0.113.9") == 302
        client.post("/auth/sign-out", data={"csrf_token": csrf(client, "/auth/tokens")})


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


_OTHER_WORKER = """
import sys
from pathlib import Path
from catalogue import create_app
from catalogue.config import Config
folder, url, storage, email = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
app = create_app(Config(instance_path=folder, database_url=url, index_dir=folder / "index", ratelimit_storage_uri=storage))
client = app.test_client()
import re
for _ in range(5):
    page = client.get("/auth/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = client.post("/auth/sign-in", data={"email": email, "password": "wrong password!", "csrf_token": token})
    print(answer.status_code)
"""


def _another_worker_fails_five_times(folder: Path, storage: str, email: str) -> list[int]:
    """Five failed sign-ins for email in another process (as another gunicorn worker would), on this database."""
    done = subprocess.run(
        [sys.executable, "-c", _OTHER_WORKER, str(folder), database_url(folder), storage, email],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [int(line) for line in done.stdout.split()]


@pytest.mark.enable_socket
@pytest.mark.parametrize("storage", ["redis://127.0.0.1:6379", "memory://"])
def test_the_limits_are_shared_by_every_worker_through_redis(tmp_path: Path, storage: str) -> None:
    if storage.startswith("redis") and not _redis_reachable():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379: start it (`redis-server`) to test the shared limits")
    from catalogue import create_app
    from catalogue.config import Config
    from catalogue.db import database_of

    if not database_url(tmp_path).startswith("sqlite"):
        drop_tables(database_url(tmp_path))
    app = create_app(
        Config(
            instance_path=tmp_path,
            database_url=database_url(tmp_path),
            index_dir=tmp_path / "index",
            ratelimit_storage_uri=storage,
        )
    )
    database_of(app).create_all()
    email = f"shared-{uuid.uuid4().hex}@istat.example"  # a key of its own in a Redis other runs share
    try:
        assert _another_worker_fails_five_times(tmp_path, storage, email) == [401] * 5
        here = attempt(app.test_client(), email)
    finally:
        close_app(app)
        if not database_url(tmp_path).startswith("sqlite"):
            drop_tables(database_url(tmp_path))
    # Through Redis this worker knows of the other's five failures; in memory it does not (so production warns).
    assert here == (429 if storage.startswith("redis") else 401)


def test_production_warns_when_several_workers_count_the_limits_in_memory(tmp_path: Path) -> None:
    from catalogue.config import Config

    def config(workers: int, storage: str) -> Config:
        return Config(
            instance_path=tmp_path,
            database_url="postgresql+psycopg://catalogue@db/catalogue",
            index_dir=tmp_path / "index",
            workers=workers,
            ratelimit_storage_uri=storage,
        )

    (warning,) = config(2, "memory://").production_warnings()
    assert "CATALOGUE_RATELIMIT_STORAGE_URI" in warning and "2 times the attempts" in warning
    assert config(1, "memory://").production_warnings() == []
    assert config(4, "redis://127.0.0.1:6379").production_warnings() == []
