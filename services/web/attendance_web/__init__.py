"""The thin web service: an app factory that wires config, extensions and feature blueprints."""

from __future__ import annotations

from typing import Any

from flask import Flask

from attendance_shared.settings import Settings, get_settings

from .ids import IdConverter


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    settings = settings or get_settings()
    settings.require_production_secrets()

    app = Flask(__name__)
    app.url_map.converters["int"] = IdConverter  # every <int:...> in a route is an id, read one way (ids.py)
    hops = settings.trusted_proxy_hops if settings.trusted_proxy_hops is not None else int(settings.is_production)
    if hops:
        # Behind the load balancer: the client's address (rate limits, audit log) and https scheme.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    from .config import flask_config

    app.config.update(flask_config(settings))
    app.config.update(overrides)

    from .extensions import register_extensions

    register_extensions(app, settings)
    from .observability import register_observability

    register_observability(app)
    register_blueprints(app)
    from .times import register_time_filters

    register_time_filters(app)
    from .errors import register_error_handlers
    from .security import register_security_headers

    register_error_handlers(app)
    register_security_headers(app)
    from .cli import register_commands

    register_commands(app)
    return app


def register_blueprints(app: Flask) -> None:
    from .auth import bp as auth_bp
    from .courses import bp as courses_bp
    from .health import bp as health_bp
    from .jobs import bp as jobs_bp
    from .sessions import bp as sessions_bp
    from .students import bp as students_bp

    for bp in (health_bp, auth_bp, courses_bp, students_bp, sessions_bp, jobs_bp):
        app.register_blueprint(bp)
    from .reports import bp as reports_bp

    app.register_blueprint(reports_bp)
    from .roster import bp as roster_bp

    app.register_blueprint(roster_bp)
    from .account import bp as account_bp
    from .api import bp as api_bp
    from .school import bp as school_bp

    app.register_blueprint(account_bp)
    app.register_blueprint(school_bp)
    from .sso import bp as sso_bp

    app.register_blueprint(sso_bp)
    from .sis_import import bp as sis_import_bp

    app.register_blueprint(sis_import_bp)
    app.register_blueprint(api_bp)
