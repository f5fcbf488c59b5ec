"""The `catalogue` command: init, migrate, seed, serve, validate, upgrade, create-user, invite, notify, export,
scaffold, import."""

from __future__ import annotations

import functools
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from werkzeug.serving import run_simple

from catalogue import create_app, exceptions, migrations, notify
from catalogue.auth import accounts, actors, links
from catalogue.config import Config, MissingSecret, UnfitForProduction
from catalogue.db import db
from catalogue.exceptions import DescriptorError
from catalogue.exports.catalogue import Links
from catalogue.exports.schemas import FORMATS
from catalogue.search import searching
from catalogue.services import bulk_import, compliance, descriptors, layers, scaffold, upgrade, workflow
from catalogue.services.models import Service
from catalogue.wording import plural


def _app_from_environment() -> Flask:
    """The catalogue the environment points at (CATALOGUE_* settings), as every command but the tests builds it."""
    return create_app(Config.from_env())


class CatalogueGroup(click.Group):
    """Our commands and nothing else: Flask's own (`run`, `shell`, `routes`) and `--app` are not offered.

    Commands that need the app build it through Flask's ScriptInfo, so a test hands in its own app
    (`app.test_cli_runner()`) and a user gets the one the environment describes.
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        """Start a command with the app it should use: the environment's, unless one was handed in."""
        extra.setdefault("obj", ScriptInfo(create_app=_app_from_environment, set_debug_flag=False))
        return super().make_context(info_name, args, parent=parent, **extra)


@click.group(cls=CatalogueGroup)
@click.version_option(package_name="cspa-catalogue", prog_name="catalogue", message="%(prog)s %(version)s")
def main() -> None:
    """CSPA Catalogue: a registry of CSPA 2.0 statistical services."""


def _masked(url: str) -> str:
    """The database URL with its password, if any, shown as ***."""
    return make_url(url).render_as_string(hide_password=True)


def _where(config: Config, index: bool = True) -> str:
    """One line naming the database (its password masked) and the search index a command uses."""
    return f"Catalogue database: {_masked(config.database_url)}" + (
        f"; search index: {config.index_dir}" if index else ""
    )


def _missing_database_file(config: Config) -> Path | None:
    """The SQLite file the settings name when it does not exist yet (a server database is never 'missing')."""
    url = make_url(config.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database)
    return None if path.exists() else path


def _check_place(config: Config, create: bool) -> None:
    """Refuse to make a new, empty catalogue by accident: only with --init or a place given explicitly.

    Without this, a command run from another folder quietly made an empty database under that folder's
    instance/ and reported success, so the user believed they had changed their running catalogue.
    """
    missing = _missing_database_file(config)
    if missing is None:
        return
    if not (create or config.explicit_location):
        raise click.ClickException(
            f"there is no catalogue at {missing} (the default place, in the instance folder under the current "
            "folder). Run the command where your catalogue's instance folder is, set CATALOGUE_INSTANCE_PATH "
            "(or CATALOGUE_DATABASE_URL) to the catalogue you mean, or add --init to create a new, empty "
            "catalogue there."
        )
    click.echo(f"Creating a new catalogue at {missing}", err=True)


def uses_catalogue(command: Callable[..., None]) -> Callable[..., None]:
    """Run command in the app context on a database at the code's revision, after saying which catalogue it
    uses (one line on stderr, so what the command prints on stdout stays clean). Adds the --init option."""

    @click.option(
        "--init",
        "create",
        is_flag=True,
        help="Create a new, empty catalogue when there is none at the configured place",
    )
    @click.pass_context
    @functools.wraps(command)
    def run(ctx: click.Context, create: bool, **kwargs: Any) -> None:
        info = ctx.ensure_object(ScriptInfo)
        from_environment = info.create_app is _app_from_environment
        if from_environment:  # checked before the app is built, so a refusal leaves no instance folder behind
            _check_place(Config.from_env(), create)
        with info.load_app().app_context():
            config = current_app.config["CATALOGUE"]
            if not from_environment:
                _check_place(config, create)
            click.echo(_where(config), err=True)
            _init()
            command(**kwargs)

    return run


def _init() -> tuple[str | None, str | None]:
    """Create the instance folder, and create or upgrade the database through the migrations."""
    Path(current_app.instance_path).mkdir(parents=True, exist_ok=True)
    return migrations.upgrade(current_app.config["CATALOGUE"].database_url)


def _migrated(before: str | None, after: str | None) -> str:
    return f"at revision {after}" + ("" if before == after else f" (was {before or 'empty'})")


def seed_order(seeds: dict[str, dict[str, Any]]) -> list[str]:
    """The seed files' names in the order to load them: each after the seeds whose layers it refers to
    (a reference resolves only to a layer already in the catalogue), otherwise by name.

    seeds maps a file's name to its descriptor's content. Raises click.ClickException for a reference no seed
    file describes, or for seeds that refer to each other in a cycle.
    """
    describes: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for name, content in seeds.items():
        owner = str((content.get("implementation") or {}).get("owner", ""))
        for kind in layers.KINDS:
            found = layers.identity(content, kind)
            if found is not None:
                describes.setdefault((kind, found[0]), []).append((name, owner))
    needs: dict[str, set[str]] = {}
    for name, content in sorted(seeds.items()):
        needs[name] = set()
        for ref in layers.references(content):
            providers = [n for n, owner in describes.get((ref.kind, ref.slug), []) if ref.owner in (None, owner)]
            if not providers:
                owner = f" of {ref.owner}" if ref.owner else ""
                raise click.ClickException(
                    f"{name} refers to the {ref.kind} {ref.slug!r}{owner}, which no seed file describes"
                )
            needs[name].update(n for n in providers if n != name)
    order: list[str] = []
    while needs:
        ready = sorted(name for name, waits in needs.items() if not waits - set(order))
        if not ready:
            raise click.ClickException(
                f"these seed files cannot be ordered, their references form a cycle: {', '.join(sorted(needs))}"
            )
        order.append(ready[0])
        del needs[ready[0]]
    return order


def _seed(seed_dir: Path) -> tuple[int, int]:
    limits = current_app.config["CATALOGUE"].limits
    parsed = {path.name: descriptors.parse(path.read_bytes(), "yaml", limits) for path in seed_dir.glob("*.yaml")}
    files = seed_order({name: descriptor.content for name, descriptor in parsed.items()})
    added = 0
    with click.progressbar(files, label="Loading seed services", file=sys.stderr) as bar:
        for name in bar:
            descriptor = parsed[name]
            with db.transaction() as session:
                _version, created = workflow.submit_version(
                    session, actors.SYSTEM, descriptor, "yaml", status="approved"
                )
                added += created
    return added, len(files)


@main.command("init")
@with_appcontext
def init_command() -> None:
    """Create the instance folder, and create or upgrade the database tables (the migrations)."""
    config = current_app.config["CATALOGUE"]
    _check_place(config, create=True)
    click.echo(_where(config), err=True)
    before, after = _init()
    click.echo(f"Database ready, {_migrated(before, after)}: {_masked(config.database_url)}")


@main.command("migrate")
@click.option("--revision", default="head", show_default=True, help="Upgrade to this revision")
def migrate_command(revision: str) -> None:
    """Create or upgrade the database tables to the code's schema (safe to run on every deployment)."""
    config = Config.from_env()
    _check_place(config, create=True)
    click.echo(_where(config, index=False), err=True)
    url = config.database_url
    before, after = migrations.upgrade(url, revision)
    click.echo(f"Database {_migrated(before, after)}")


@main.command("seed")
@click.option("--dir", "seed_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@uses_catalogue
def seed_command(seed_dir: Path | None) -> None:
    """Load the seed services as approved entries (already loaded ones are left as they are)."""
    added, total = _seed(seed_dir or current_app.config["CATALOGUE"].seed_dir)
    click.echo(f"{added} of {total} seed services added")


@main.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option(
    "--production",
    is_flag=True,
    help="Serve with gunicorn (CATALOGUE_WORKERS processes), CATALOGUE_ENV=production, no seeding",
)
@click.pass_context
def serve_command(ctx: click.Context, host: str, port: int, production: bool) -> None:
    """Create or upgrade the database, load the seed services on first start, and serve the catalogue."""
    if production:
        _serve_production(host, port)
    with ctx.ensure_object(ScriptInfo).load_app().app_context():
        _serve_development(host, port)


def _serve_production(host: str, port: int) -> None:
    # The gunicorn workers inherit the environment: they build their apps in production mode too.
    os.environ["CATALOGUE_ENV"] = "production"
    config = Config.from_env()
    try:
        config.check_production()
    except (MissingSecret, UnfitForProduction) as exc:
        raise click.ClickException(str(exc)) from None
    before, after = migrations.upgrade(config.database_url)
    click.echo(f"Database {_migrated(before, after)}", err=True)
    # Which database and index, on the line that announces the server (all later lines are gunicorn's JSON).
    click.echo(
        f"{_where(config)}; serving it with {plural(config.workers, 'gunicorn worker')} on http://{host}:{port}/",
        err=True,
    )
    sys.stderr.flush()
    # exec, not a child: gunicorn gets the signals a process supervisor sends (SIGTERM stops it gracefully).
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:catalogue.gunicorn_conf",  # fixed argv, no shell  # nosec B606
            "--bind",
            f"{host}:{port}",
            "catalogue:create_app()",
        ],
    )


def _serve_development(host: str, port: int) -> None:
    # The README's first command: on a fresh clone it makes the catalogue, and says so.
    config = current_app.config["CATALOGUE"]
    _check_place(config, create=True)
    click.echo(_where(config), err=True)
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
@uses_catalogue
def reindex_command() -> None:
    """Rebuild the search index from the database (readers keep the old one until the new one is ready)."""
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
        return {
            "file": path,
            "readable": False,
            "valid": False,
            "errors": [
                {"pointer": "", "line": None, "message": f"cannot read the file: {exc.strerror}", "source": "file"}
            ],
            "warnings": [],
        }
    fmt = "json" if path.endswith(".json") else "yaml"
    try:
        descriptor = descriptors.parse(data, fmt, limits)
    except DescriptorError as exc:
        return {"file": path, "readable": True, "valid": False, "errors": [exc.problem.to_dict()], "warnings": []}
    report, _assessment = workflow.check_descriptor(descriptor)
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
        click.echo(
            json.dumps({k: v for k, v in shown[0].items() if k != "file"} if len(shown) == 1 else shown, indent=2)
        )
    else:
        for result in results:
            for kind in ("errors", "warnings"):
                for item in result[kind]:
                    place = f"{result['file']}:{item['line']}" if item["line"] else result["file"]
                    label = "error" if kind == "errors" else "warning"
                    click.echo(f"{place}: {label}: {item['pointer'] or '/'}: {item['message']} [{item['source']}]")
            summary = "valid" if result["valid"] else plural(len(result["errors"]), "error")
            click.echo(f"{result['file']}: {summary}, {plural(len(result['warnings']), 'warning')}")
    if any(not r["readable"] for r in results):
        sys.exit(2)
    sys.exit(0 if all(r["valid"] for r in results) else 1)


_OUTCOME_WORDS = {"pass": "pass", "fail": "fail", "not_applicable": "not applicable"}  # outcomes, not secrets  # nosec B105


def _assess_file(path: str, limits: descriptors.Limits) -> compliance.ComplianceReport | str:
    """The compliance report of one descriptor file, or why the file cannot be read."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return f"cannot read the file: {exc.strerror}"
    try:
        descriptor = descriptors.parse(data, "json" if path.endswith(".json") else "yaml", limits)
    except DescriptorError as exc:
        return f"{exc.problem.pointer or '/'}: {exc.problem.message}"
    _report, assessment = workflow.check_descriptor(descriptor)
    return assessment


def _print_summary(reports: dict[str, compliance.ComplianceReport]) -> None:
    rows = compliance.tally(reports)
    width = max(len("criterion"), *(len(row.id) for row in rows))
    click.echo(f"{'criterion':<{width}}  {'pass':>4}  {'fail':>4}  {'n/a':>4}  failing")
    for row in rows:
        failing = ", ".join(Path(name).stem for name in row.failing)
        click.echo(f"{row.id:<{width}}  {row.passed:>4}  {row.failed:>4}  {row.not_applicable:>4}  {failing}".rstrip())


@main.command("assess")
@click.argument("files", nargs=-1, required=True)
@click.option("--summary", is_flag=True, help="One line per criterion: pass, fail and not-applicable counts")
def assess_command(files: tuple[str, ...], summary: bool) -> None:
    """Assess descriptors offline against the CSPA compliance criteria; exit 2 if a file cannot be read."""
    limits = Config.from_env().limits
    reports: dict[str, compliance.ComplianceReport] = {}
    unreadable = False
    for path in files:
        result = _assess_file(path, limits)
        if isinstance(result, str):
            unreadable = True
            click.echo(f"{path}: error: {result}", err=True)
            continue
        reports[path] = result
        if summary:
            continue
        click.echo(f"{path}: {result.score}% of the applicable criteria pass")
        for item in result.items:
            click.echo(f"  {_OUTCOME_WORDS[item.outcome]:<14}  {item.id}: {item.reason}")
    if summary and reports:
        _print_summary(reports)
    sys.exit(2 if unreadable else 0)


_PROGRESS_FROM = 20
"""From this many files on, `catalogue upgrade` shows a progress line."""


def _upgrade_file(path: str, check: bool) -> tuple[str, list[str]]:
    """('changed' | 'current' | 'unreadable', what it says about path); writes the file unless check."""
    try:
        text = Path(path).read_text("utf-8")
        result = upgrade.upgrade(text, "json" if path.endswith(".json") else "yaml")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return "unreadable", [f"{path}: cannot upgrade it: {exc}"]
    except Exception as exc:  # noqa: BLE001 - ruamel's parse errors share no base class with json's
        return "unreadable", [f"{path}: cannot read it as YAML: {str(exc).splitlines()[0]}"]
    lines = [f"{path}: {note}" for note in result.notes]
    if not result.changed:
        return "current", lines
    if check:
        return "changed", [*lines, *(f"{path}: would be upgraded: {change}" for change in result.changes)]
    Path(path).write_text(result.text, "utf-8")
    return "changed", [*lines, *(f"{path}: {change}" for change in result.changes)]


@main.command("upgrade")  # reads and writes files: no app, no database
@click.argument("files", nargs=-1, required=True)
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if any file would be upgraded")
def upgrade_command(files: tuple[str, ...], check: bool) -> None:
    """Rewrite descriptors in the current form of the contract (dependencies in the definition), keeping
    everything else and the format; exit 2 if a file cannot be read."""
    outcomes: dict[str, int] = {"changed": 0, "current": 0, "unreadable": 0}
    messages: list[str] = []
    with click.progressbar(
        files, label="Upgrading", file=sys.stderr if len(files) >= _PROGRESS_FROM else io.StringIO()
    ) as bar:
        for path in bar:
            outcome, lines = _upgrade_file(path, check)
            outcomes[outcome] += 1
            messages.extend(lines)
    for line in messages:
        click.echo(line)
    verb = "would be upgraded" if check else "upgraded"
    noun = "file" if len(files) == 1 else "files"
    click.echo(f"{outcomes['changed']} of {len(files)} {noun} {verb}, {outcomes['current']} already current.")
    if outcomes["unreadable"]:
        sys.exit(2)
    if check and outcomes["changed"]:
        click.echo("Run `catalogue upgrade` on these files to rewrite them in the current form.", err=True)
        sys.exit(1)


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--org", "org_code", required=True, help="Organisation code, e.g. ISTAT")
@click.option("--role", type=click.Choice(["submitter", "reviewer", "admin"]), default="submitter")
@click.option("--name", "display_name", default=None)
@click.option("--password", is_flag=True, help="Ask for a password, so the user can sign in to the web pages")
@uses_catalogue
def create_user_command(email: str, org_code: str, role: str, display_name: str | None, password: bool) -> None:
    """Create a user and print a new API token (shown only once)."""
    secret = (
        click.prompt("Password (12 characters or more)", hide_input=True, confirmation_prompt=True)
        if password
        else None
    )
    try:
        with db.transaction() as session:
            _user, token = accounts.create_user(session, email, org_code.upper(), role, display_name, password=secret)
    except exceptions.RegistryError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"Created {role} {email} of {org_code.upper()}. API token (shown once):")
    click.echo(token)


@main.command("set-password")
@click.option("--email", required=True)
@uses_catalogue
def set_password_command(email: str) -> None:
    """Set a user's password (asked twice, never echoed); their sessions end."""
    secret = click.prompt("New password (12 characters or more)", hide_input=True, confirmation_prompt=True)
    try:
        with db.transaction() as session:
            user = accounts.user_by_email(session, email)
            accounts.set_password(session, actors.SYSTEM, user, secret)
    except exceptions.RegistryError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"Password of {email} set.")


@main.command("invite")
@click.option("--email", required=True)
@click.option("--org", "org_code", required=True, help="Organisation code, e.g. ISTAT")
@click.option("--role", type=click.Choice(["submitter", "reviewer", "admin"]), default="submitter")
@click.option("--name", "display_name", default=None)
@uses_catalogue
def invite_command(email: str, org_code: str, role: str, display_name: str | None) -> None:
    """Invite a person by e-mail: the mail's link lets them choose their password."""
    config = current_app.config["CATALOGUE"]
    try:
        with db.transaction() as session:
            links.invite_user(
                session,
                actors.SYSTEM,
                current_app.config["SECRET_KEY"],
                email,
                org_code.upper(),
                role,
                display_name,
                hours=config.invitation_hours,
            )
    except exceptions.RegistryError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(
        f"Invited {email} as {role} of {org_code.upper()}; the link works for {config.invitation_hours:g} hours."
    )
    _send_now()


def _send_now() -> None:
    """Send the outbox now, and say what happened (without an SMTP server the mails wait in the outbox)."""
    notifier = notify.notifier_of(current_app)
    notifier.queue()
    if notifier.transport is None:
        click.echo("No SMTP server is configured (CATALOGUE_SMTP_HOST): the mail waits in the outbox.", err=True)
        return
    delivery = notifier.deliver()
    mails = "mail" if delivery.sent == 1 else "mails"
    click.echo(f"{delivery.sent} {mails} sent, {delivery.failed} failed (they are tried again later).")
    for error in delivery.errors:
        click.echo(f"  {error}", err=True)


@main.group("notify")
def notify_group() -> None:
    """The e-mail outbox: notifications, invitations and password links."""


@notify_group.command("send")
@uses_catalogue
def notify_send_command() -> None:
    """Queue the mails of new events and send every mail whose time has come; exit code 1 if any failed."""
    notifier = notify.notifier_of(current_app)
    if notifier.transport is None:
        raise click.ClickException("no SMTP server is configured: set CATALOGUE_SMTP_HOST (see README)")
    queued = notifier.queue()
    delivery = notifier.deliver()
    click.echo(f"{queued} queued, {delivery.sent} sent, {delivery.failed} failed.")
    for error in delivery.errors:
        click.echo(f"  {error}", err=True)
    if delivery.failed:
        sys.exit(1)


@main.command("create-organisation")
@click.option("--code", required=True, help="Short code, e.g. ISTAT")
@click.option("--name", required=True)
@click.option("--country", default=None, help="ISO 3166 code")
@uses_catalogue
def create_organisation_command(code: str, name: str, country: str | None) -> None:
    """Create an organisation."""
    try:
        with db.transaction() as session:
            organisation = accounts.create_organisation(session, actors.SYSTEM, code, name, country)
    except exceptions.RegistryError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"Created organisation {organisation.code}.")


@main.command("export")
@click.option("--output", type=click.File("w", encoding="utf-8"), default="-")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["versions", *FORMATS]),
    default="versions",
    show_default=True,
    help="versions: every version of every service (a backup); the others: the public catalogue, "
    "as served under /api/v1/export",
)
@click.option(
    "--base-url",
    default=lambda: Config.from_env().base_url or "http://localhost:5000/",
    show_default="CATALOGUE_BASE_URL, else http://localhost:5000/",
    help="The registry's public address, for the links inside the public exports",
)
@uses_catalogue
def export_command(output: Any, fmt: str, base_url: str) -> None:
    """Write the whole catalogue: every version as JSON, or the public catalogue as JSON, CSV, DCAT-AP or Backstage."""
    if fmt != "versions":
        from catalogue.exports import documents  # rdflib: imported by the commands that need it, not at every start

        with db.transaction() as session:
            output.write(documents.export(session, fmt, Links(base_url)).text)
        return
    with db.transaction() as session:
        services = session.scalars(select(Service).order_by(Service.slug)).all()
        body = [
            {
                "id": s.slug,
                "organisation": s.organisation.code,
                "status": s.status,
                "versions": [
                    {
                        "version": v.version,
                        "status": v.status,
                        "content_hash": v.content_hash,
                        "compliance_score": v.compliance_score,
                        "descriptor": v.descriptor,
                    }
                    for v in s.versions
                ],
            }
            for s in services
        ]
    json.dump({"services": body}, output, indent=2, ensure_ascii=False)
    output.write("\n")


def _skeleton_of(openapi: Path | None) -> scaffold.Skeleton:
    """The skeleton of an OpenAPI document file, or the command's exit with the problems that refuse it."""
    if openapi is None:
        raise click.UsageError("give an OpenAPI document")
    fmt = "json" if openapi.suffix.lower() == ".json" else "yaml"
    try:
        return scaffold.scaffold(openapi.read_bytes(), fmt, Config.from_env().limits, source=openapi.name)
    except DescriptorError as exc:
        raise click.ClickException(f"{openapi}: {exc.problem.message}") from None
    except scaffold.ScaffoldRefused as exc:
        for problem in exc.problems:
            click.echo(f"{openapi}: error: {problem.pointer}: {problem.message}", err=True)
        sys.exit(1)


@main.command("scaffold")  # reads a file, writes a file: no app, no database
@click.argument("openapi", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
@click.option(
    "--kind",
    type=click.Choice(scaffold.SKELETON_KINDS),
    default=None,
    help="Write the skeleton of a library or a command-line program instead (no OpenAPI document)",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the skeleton here (default: print it)",
)
def scaffold_command(openapi: Path | None, kind: str | None, output: Path | None) -> None:
    """Write a descriptor skeleton from a bare OpenAPI document, or with --kind for a library or a command-line
    program; its TODOs are left for you to fill."""
    if (openapi is None) == (kind is None):
        raise click.UsageError("give either an OpenAPI document or --kind library|command_line")
    skeleton = scaffold.skeleton_for(kind) if kind is not None else _skeleton_of(openapi)
    if output is None:
        click.echo(skeleton.text, nl=False)
    else:
        output.write_text(skeleton.text, "utf-8")
        click.echo(
            f"Wrote {output}: {len(skeleton.todo)} {'TODO' if len(skeleton.todo) == 1 else 'TODOs'} to fill, "
            f"then `catalogue validate {output}`",
            err=True,
        )
    for where in skeleton.unnamed_operations:
        click.echo(f"{openapi}: warning: {where} has no operationId, so it is not listed", err=True)


@main.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path), required=False)
@click.option("--status", type=click.Choice(["draft", "submitted", "approved"]), default="submitted", show_default=True)
@click.option("--as", "email", default=None, help="Submit as this user (default: the system, which may also approve)")
@click.option(
    "--from-dcat",
    "dcat_source",
    default=None,
    metavar="URL-OR-FILE",
    help="Read a DCAT-AP catalogue (Turtle or JSON-LD) into drafts instead: a file, or an http or https URL on a host "
    "in CATALOGUE_IMPORT_HOSTS",
)
@uses_catalogue
def import_command(folder: Path | None, status: str, email: str | None, dcat_source: str | None) -> None:
    """Import every descriptor in a folder, each in its own transaction; exit 1 if any was refused."""
    if (folder is None) == (dcat_source is None):
        raise click.UsageError("give a FOLDER of descriptors, or --from-dcat URL-OR-FILE (one of the two)")
    actor = _import_actor(status, email)
    config = current_app.config["CATALOGUE"]
    if dcat_source is not None:
        from catalogue.exports import dcat_import  # rdflib: imported by the commands that need it, not at every start

        try:
            source = dcat_import.read_source(
                dcat_source, config.import_hosts, config.max_descriptor_bytes * dcat_import.MAX_SIZE_FACTOR
            )
            dcat_outcomes = dcat_import.import_catalogue(source, actor, config.limits)
        except dcat_import.ImportRefused as refusal:
            raise click.ClickException(str(refusal)) from None
        click.echo(bulk_import.summary(dcat_outcomes), nl=False)
        sys.exit(1 if any(o.result == "refused" for o in dcat_outcomes) else 0)
    assert folder is not None  # one of the two, checked above
    limits = config.limits
    files = bulk_import.descriptor_files(folder)
    outcomes = []
    with click.progressbar(
        files,
        label=f"Importing {plural(len(files), 'descriptor')}",
        file=sys.stderr,
        item_show_func=lambda p: p.name if p else None,
    ) as bar:
        for path in bar:
            outcomes.append(bulk_import.import_file(path, actor, status, limits))
    click.echo(bulk_import.summary(outcomes), nl=False)
    sys.exit(1 if any(o.result == "refused" for o in outcomes) else 0)


def _import_actor(status: str, email: str | None) -> actors.Actor:
    """Who an import submits as: the system, or the active user with that e-mail address."""
    actor = actors.SYSTEM
    if email is not None:
        if status == "approved":
            raise click.UsageError(
                "only the system imports as approved: leave out --as, or import as submitted for review"
            )
        try:
            with db.transaction() as session:
                user = accounts.user_by_email(session, email)
        except exceptions.RegistryError as exc:
            raise click.ClickException(exc.detail) from None
        if not user.active:
            raise click.ClickException(f"the user {email} is deactivated")
        actor = actors.Actor(user=user)
    return actor


if __name__ == "__main__":
    main()
