"""Liveness and readiness for the load balancer."""

from flask import Blueprint

bp = Blueprint("health", __name__)

from . import views  # noqa: E402,F401
