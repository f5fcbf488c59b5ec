"""CSPA Catalogue: a registry of CSPA 2.0 statistical services."""

from __future__ import annotations

from flask import Flask, send_from_directory

from catalogue.config import Config
from catalogue.resources import SCHEMA_DIR, STATIC_DIR

__all__ = ["create_app"]


def create_app(config: Config | None = None) -> Flask:
    """Build the Flask application; with no argument, settings come from the environment."""
    from catalogue import auth, conditional, errors, events, notify, openapi, ops, search, security
    from catalogue.auth import views as auth_views
    from catalogue.db import Database
    from catalogue.document import content
    from catalogue.document import views as document_views
    from catalogue.exports import api as exports_api
    from catalogue.exports import views as exports_views
    from catalogue.notify import models as notify_models  # noqa: F401 - the outbox's tables on Base.metadata
    from catalogue.notify import views as notify_views
    from catalogue.review import views as review_views
    from catalogue.search import api as search_api
    from catalogue.search import views as search_views
    from catalogue.services import api as services_api
    from catalogue.services import models  # noqa: F401 - every table on Base.metadata before create_all
    from catalogue.services import views as services_views

    config = config or Config.from_env()
    app = Flask(__name__, instance_path=str(config.instance_path), static_folder=str(STATIC_DIR))
    app.config.update(
        CATALOGUE=config,
        SECRET_KEY=config.signing_key(),
        MAX_CONTENT_LENGTH=config.max_descriptor_bytes + 64 * 1024,
        API_TITLE="CSPA Catalogue",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS=openapi.spec_options(config.base_url),
    )
    # The app's own engine: two apps in one process never share one. Refusals go on its audit trail.
    Database(config.database_url, record_refusal=events.record_refusal).init_app(app)
    conditional.init_app(app)
    search.init_app(app, sections=content.readable_chapters)  # search reads no document module itself
    auth.init_app(app)
    notify.init_app(app)  # mails of new events queued after each commit, sent by a background thread
    api = errors.CatalogueApi(app, spec_kwargs={"extra_plugins": [openapi.SelfDescription()]})
    api.register_blueprint(services_api.blp)
    api.register_blueprint(search_api.blp)
    api.register_blueprint(exports_api.blp)
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(auth_views.admin)
    app.register_blueprint(services_views.bp)
    app.register_blueprint(search_views.bp)
    app.register_blueprint(document_views.bp)
    app.register_blueprint(review_views.bp)
    app.register_blueprint(exports_views.bp)
    app.register_blueprint(notify_views.bp)
    errors.init_app(app)
    security.init_app(app)
    ops.init_app(app)

    @app.get("/schemas/<path:filename>")
    def schema_file(filename: str):  # type: ignore[no-untyped-def]
        return send_from_directory(SCHEMA_DIR, filename)

    return app
