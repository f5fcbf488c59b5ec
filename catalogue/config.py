"""Settings read from the environment, so every command and test can point the app anywhere."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalogue import resources
from catalogue.services.descriptors import Limits


class MissingSecret(RuntimeError):
    """A setting production cannot run without is missing."""


class UnfitForProduction(RuntimeError):
    """A setting production must not run with (SQLite, unless allowed for one host)."""


@dataclass(frozen=True)
class Config:
    """Where the catalogue keeps its data, and the limits it applies to descriptors."""

    instance_path: Path
    database_url: str
    index_dir: Path
    max_descriptor_bytes: int = 2 * 1024 * 1024
    max_depth: int = 100
    max_nodes: int = 500_000
    seed_dir: Path = resources.SEED_DIR
    # Session cookies are sent over HTTPS only; browsers treat http://localhost as secure, so this
    # also works for a local `catalogue serve`. Set CATALOGUE_INSECURE_COOKIES=1 behind plain HTTP.
    secure_cookies: bool = True
    # Failed sign-ins per account (whatever the address) and per client address (whatever the account).
    sign_in_rate_limit: str = "5 per minute"
    sign_in_address_rate_limit: str = "10 per minute"
    # Where the counts live: memory of one process (development), or redis://host:6379 shared by every worker.
    ratelimit_storage_uri: str = "memory://"
    # Signs session cookies and CSRF tokens. Empty: one is generated once and kept in the instance
    # folder (development); production must give CATALOGUE_SECRET_KEY (see from_env).
    secret_key: str = ""
    environment: str = "development"
    # Production (`catalogue serve --production`): gunicorn worker processes, and whether a SQLite file is
    # acceptable (one host only: several hosts share one PostgreSQL).
    workers: int = 2
    # Threads per worker: each serves one request at a time, so this many slow clients fit into a worker
    # before it stops answering (and, with the database pool's 15 connections, the useful ceiling is near 15).
    threads: int = 16
    allow_sqlite: bool = False
    log_level: str = "INFO"
    # False only when neither CATALOGUE_INSTANCE_PATH nor CATALOGUE_DATABASE_URL was given, so the catalogue is
    # the default one under the working directory: the command line then makes a new one only with --init.
    explicit_location: bool = True
    # The public address of the catalogue (https://catalogue.example.org/): absolute links in exports, feeds and
    # catalog-info.yaml start with it. Empty (development only): the request's own host, which a client chooses.
    base_url: str = ""
    # What a version whose interface breaks callers of the last approved one, without raising its major version
    # (0.y.z: its y), gets in its validation report: "error" (it cannot be submitted) or "warning".
    semver_breaking: str = "error"
    # Notifications and account mails go through this SMTP server; with no host they wait in the outbox.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls (port 587), tls (port 465) or none (a relay on this host)
    smtp_username: str = ""
    smtp_password: str = ""
    mail_from: str = "CSPA Catalogue <catalogue@localhost>"
    # Whether each web process sends the outbox from a background thread (off: `catalogue notify send`).
    notify_worker: bool = True
    # How long account links work: an invitation, a password reset.
    invitation_hours: float = 48
    reset_hours: float = 1
    # Requests for a reset link, per address asked for and per client address (every request counts).
    reset_rate_limit: str = "3 per hour"
    reset_address_rate_limit: str = "10 per hour"
    # Hosts `catalogue import --from-dcat URL` may read a DCAT-AP catalogue from (CATALOGUE_IMPORT_HOSTS, comma
    # separated). Empty: no URL at all, only files.
    import_hosts: tuple[str, ...] = ()

    @property
    def limits(self) -> Limits:
        """The parsing limits for descriptors."""
        return Limits(max_bytes=self.max_descriptor_bytes, max_depth=self.max_depth, max_nodes=self.max_nodes)

    def signing_key(self) -> str:
        """The secret key: the configured one, or the instance folder's own, created on first use."""
        if self.secret_key:
            return self.secret_key
        if self.environment == "production":
            raise MissingSecret("CATALOGUE_SECRET_KEY must be set in production (CATALOGUE_ENV=production)")
        path = self.instance_path / "secret_key"
        if not path.exists():
            self.instance_path.mkdir(parents=True, exist_ok=True)
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process created it a moment ago
                pass
            else:
                with os.fdopen(descriptor, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
        return path.read_text("utf-8").strip()

    def check_production(self) -> None:
        """Raise MissingSecret or UnfitForProduction if these settings must not serve in production."""
        self.signing_key()
        if self.database_url.startswith("sqlite") and not self.allow_sqlite:
            raise UnfitForProduction(
                "CATALOGUE_DATABASE_URL must point at PostgreSQL in production (CATALOGUE_ENV=production); "
                "set CATALOGUE_ALLOW_SQLITE=1 to run one host on a SQLite file anyway"
            )

    def production_warnings(self) -> list[str]:
        """What is unsafe but allowed in production: sign-in limits counted per worker, not shared."""
        if self.workers > 1 and self.ratelimit_storage_uri.startswith("memory"):
            warning = (
                f"WARNING: sign-in limits are counted in each of the {self.workers} workers' memory, so an attacker "
                f"gets {self.workers} times the attempts; set CATALOGUE_RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379 "
                "(see README, Security)"
            )
            return [warning]
        return []

    @classmethod
    def from_env(cls) -> Config:
        """Read CATALOGUE_* variables, defaulting to an instance/ folder in the working directory."""
        instance = Path(os.environ.get("CATALOGUE_INSTANCE_PATH", "instance")).resolve()
        return cls(
            explicit_location=any(name in os.environ for name in ("CATALOGUE_INSTANCE_PATH", "CATALOGUE_DATABASE_URL")),
            instance_path=instance,
            database_url=os.environ.get("CATALOGUE_DATABASE_URL", f"sqlite:///{instance / 'catalogue.sqlite3'}"),
            index_dir=Path(os.environ.get("CATALOGUE_INDEX_DIR", instance / "index")),
            max_descriptor_bytes=int(os.environ.get("CATALOGUE_MAX_DESCRIPTOR_BYTES", str(2 * 1024 * 1024))),
            secure_cookies=os.environ.get("CATALOGUE_INSECURE_COOKIES", "") not in ("1", "true", "yes"),
            sign_in_rate_limit=os.environ.get("CATALOGUE_SIGN_IN_RATE_LIMIT", "5 per minute"),
            sign_in_address_rate_limit=os.environ.get("CATALOGUE_SIGN_IN_ADDRESS_RATE_LIMIT", "10 per minute"),
            ratelimit_storage_uri=os.environ.get("CATALOGUE_RATELIMIT_STORAGE_URI", "memory://"),
            secret_key=os.environ.get("CATALOGUE_SECRET_KEY", ""),
            environment=os.environ.get("CATALOGUE_ENV", "development"),
            workers=int(os.environ.get("CATALOGUE_WORKERS", "2")),
            threads=int(os.environ.get("CATALOGUE_THREADS", "16")),
            allow_sqlite=os.environ.get("CATALOGUE_ALLOW_SQLITE", "") in ("1", "true", "yes"),
            log_level=os.environ.get("CATALOGUE_LOG_LEVEL", "INFO").upper(),
            base_url=os.environ.get("CATALOGUE_BASE_URL", "").strip(),
            semver_breaking=_one_of("CATALOGUE_SEMVER_BREAKING", ("error", "warning")),
            **_mail_settings(),
            import_hosts=tuple(
                h.strip().lower() for h in os.environ.get("CATALOGUE_IMPORT_HOSTS", "").split(",") if h.strip()
            ),
        )


def _one_of(name: str, allowed: tuple[str, ...]) -> str:
    """The environment variable name, one of allowed (the first when unset); refuses any other value."""
    value = os.environ.get(name, allowed[0]).strip().lower()
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _mail_settings() -> dict[str, Any]:
    """The CATALOGUE_SMTP_*, CATALOGUE_MAIL_FROM, notification and account-link settings that are set."""
    found: dict[str, Any] = {}
    text = {
        "smtp_host": "CATALOGUE_SMTP_HOST",
        "smtp_security": "CATALOGUE_SMTP_SECURITY",
        "smtp_username": "CATALOGUE_SMTP_USERNAME",
        "smtp_password": "CATALOGUE_SMTP_PASSWORD",  # the name of the environment variable, not a secret  # nosec B105
        "mail_from": "CATALOGUE_MAIL_FROM",
        "reset_rate_limit": "CATALOGUE_RESET_RATE_LIMIT",
        "reset_address_rate_limit": "CATALOGUE_RESET_ADDRESS_RATE_LIMIT",
    }
    for name, variable in text.items():
        if variable in os.environ:
            found[name] = os.environ[variable].strip()
    if "CATALOGUE_SMTP_PORT" in os.environ:
        found["smtp_port"] = int(os.environ["CATALOGUE_SMTP_PORT"])
    for name, variable in (
        ("invitation_hours", "CATALOGUE_INVITATION_HOURS"),
        ("reset_hours", "CATALOGUE_RESET_HOURS"),
    ):
        if variable in os.environ:
            found[name] = float(os.environ[variable])
    if "CATALOGUE_NOTIFY_WORKER" in os.environ:
        found["notify_worker"] = os.environ["CATALOGUE_NOTIFY_WORKER"] not in ("0", "false", "no")
    if found.get("smtp_security", "starttls") not in ("starttls", "tls", "none"):
        raise ValueError("CATALOGUE_SMTP_SECURITY must be starttls, tls or none")
    return found
