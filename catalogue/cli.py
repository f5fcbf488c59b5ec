"""The `catalogue` command: init, seed, serve, validate, create-user, export."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select
from werkzeug.serving import run_simple

from catalogue import create_app
from catalogue.config import Config
from catalogue.db import db
from catalogue.search import searching
from catalogue.services import descriptors, registry
from catalogue.services.models import Service
from catalogue.services.report import DescriptorError


@click.group(cls=FlaskGroup, create_app=lambda: create_app(), add_default_commands=True)
def main() -> None:
    """CSPA Catalogue: a registry of CSPA 2.0 statistical services."""


def _init() -> None:
    Path(current_app.instance_path).mkdir(parents=True, exist_ok=True)
    db.create_all()


def _seed(seed_dir: Path) -> tuple[int, int]:
    files = sorted(seed_dir.glob("*.yaml"))
    added = 0
    limits = current_app.config["CATALOGUE"].limits
    with click.progressbar(files, label="Loading seed services", file=sys.stderr) as bar:
        for path in bar:
            descriptor = descriptors.parse(path.read_bytes(), "yaml", limits)
            with db.transaction() as session:
                _version, created = registry.submit_version(session, registry.SYSTEM, descriptor, "yaml", status="approved")
                added += created
    return added, len(files)


@main.command("init")
@with_appcontext
def init_command() -> None:
    """Create the instance folder and the database tables."""
    _init()
    click.echo(f"Database ready: {current_app.config['CATALOGUE'].database_url}")


@main.command("seed")
@click.option("--dir", "seed_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@with_appcontext
def seed_command(seed_dir: Path | None) -> None:
    """Load the seed services as approved entries (already loaded ones are left as they are)."""
    _init()
    added, total = _seed(seed_dir or current_app.config["CATALOGUE"].seed_dir)
    click.echo(f"{added} of {total} seed services added")


@main.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Create the database, load the seed services on first start, and serve the catalogue."""
    _init()
    with db.transaction() as session:
        empty = not session.scalar(select(func.count()).select_from(Service))
    if empty:
        added, total = _seed(current_app.config["CATALOGUE"].seed_dir)
        click.echo(f"{added} of {total} seed services loaded")
    click.echo(f"Serving the catalogue on http://{host}:{port}/ (Ctrl+C stops it)")
    # Flask's app.run() refuses to start from inside a CLI command; werkzeug's server is what it would run.
    run_simple(host, port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]


@main.command("reindex")
@with_appcontext
def reindex_command() -> None:
    """Rebuild the search index from the database (readers keep the old one until the new one is ready)."""
    _init()
    search_index = searching().index
    with click.progressbar(length=1, label="Indexing services", file=sys.stderr, show_pos=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        count = search_index.rebuild(progress)
    click.echo(f"Indexed {count} services in {search_index.index_dir}")


def _validate_file(path: str, limits: descriptors.Limits) -> dict[str, Any]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return {"file": path, "readable": False, "valid": False, "errors": [{"pointer": "", "line": None, "message": f"cannot read the file: {exc.strerror}", "source": "file"}], "warnings": []}
    fmt = "json" if path.endswith(".json") else "yaml"
    try:
        descriptor = descriptors.parse(data, fmt, limits)
    except DescriptorError as exc:
        return {"file": path, "readable": True, "valid": False, "errors": [exc.problem.to_dict()], "warnings": []}
    report, _assessment = registry.check_descriptor(descriptor)
    return {"file": path, "readable": True, **report.to_dict()}


@main.command("validate")
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
def validate_command(files: tuple[str, ...], output: str) -> None:
    """Validate descriptors offline; exit 0 if all are valid, 1 if any is invalid, 2 if any is unreadable."""
    limits = Config.from_env().limits
    results = [_validate_file(path, limits) for path in files]
    if output == "json":
        shown = [{k: v for k, v in r.items() if k != "readable"} for r in results]
        click.echo(json.dumps({k: v for k, v in shown[0].items() if k != "file"} if len(shown) == 1 else shown, indent=2))
    else:
        for result in results:
            for kind in ("errors", "warnings"):
                for item in result[kind]:
                    place = f"{result['file']}:{item['line']}" if item["line"] else result["file"]
                    label = "error" if kind == "errors" else "warning"
                    click.echo(f"{place}: {label}: {item['pointer'] or '/'}: {item['message']} [{item['source']}]")
            summary = "valid" if result["valid"] else f"{len(result['errors'])} error(s)"
            click.echo(f"{result['file']}: {summary}, {len(result['warnings'])} warning(s)")
    if any(not r["readable"] for r in results):
        sys.exit(2)
    sys.exit(0 if all(r["valid"] for r in results) else 1)


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--org", "org_code", required=True, help="Organisation code, e.g. ISTAT")
@click.option("--role", type=click.Choice(["submitter", "reviewer", "admin"]), default="submitter")
@click.option("--name", "display_name", default=None)
@click.option("--password", is_flag=True, help="Ask for a password, so the user can sign in to the web pages")
@with_appcontext
def create_user_command(email: str, org_code: str, role: str, display_name: str | None, password: bool) -> None:
    """Create a user and print a new API token (shown only once)."""
    _init()
    secret = click.prompt("Password (12 characters or more)", hide_input=True, confirmation_prompt=True) if password else None
    try:
        with db.transaction() as session:
            _user, token = registry.create_user(session, email, org_code.upper(), role, display_name, password=secret)
    except registry.RegistryError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"Created {role} {email} of {org_code.upper()}. API token (shown once):")
    click.echo(token)


@main.command("set-password")
@click.option("--email", required=True)
@with_appcontext
def set_password_command(email: str) -> None:
    """Set a user's password (asked twice, never echoed); their sessions end."""
    _init()
    secret = click.prompt("New password (12 characters or more)", hide_input=True, confirmation_prompt=True)
    try:
        with db.transaction() as session:
            user = registry.user_by_email(session, email)
            registry.set_password(session, registry.SYSTEM, user, secret)
    except registry.RegistryError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"Password of {email} set.")


@main.command("create-organisation")
@click.option("--code", required=True, help="Short code, e.g. ISTAT")
@click.option("--name", required=True)
@click.option("--country", default=None, help="ISO 3166 code")
@with_appcontext
def create_organisation_command(code: str, name: str, country: str | None) -> None:
    """Create an organisation."""
    _init()
    try:
        with db.transaction() as session:
            organisation = registry.create_organisation(session, registry.SYSTEM, code, name, country)
    except registry.RegistryError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"Created organisation {organisation.code}.")


@main.command("export")
@click.option("--output", type=click.File("w"), default="-")
@with_appcontext
def export_command(output: Any) -> None:
    """Write the whole catalogue (every service with its versions) as JSON."""
    _init()
    with db.transaction() as session:
        services = session.scalars(select(Service).order_by(Service.slug)).all()
        body = [
            {
                "id": s.slug,
                "organisation": s.organisation.code,
                "status": s.status,
                "versions": [
                    {"version": v.version, "status": v.status, "content_hash": v.content_hash,
                     "compliance_score": v.compliance_score, "descriptor": v.descriptor}
                    for v in s.versions
                ],
            }
            for s in services
        ]
    json.dump({"services": body}, output, indent=2, ensure_ascii=False)
    output.write("\n")


if __name__ == "__main__":
    main()
