"""WSGI entry point: `gunicorn --bind 0.0.0.0:5000 --workers 3 main:app` (the deployment guide's Procfile)."""

import sys

from attendance_shared.settings import ConfigurationError
from attendance_web import create_app

try:
    app = create_app()
except ConfigurationError as exc:  # one clear line, not a traceback, for the operator
    sys.exit(f"error: {exc}")
