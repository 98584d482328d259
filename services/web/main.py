"""WSGI entry point: `gunicorn --bind 0.0.0.0:5000 --workers 3 main:app` (the deployment guide's Procfile)."""

from attendance_web import create_app

app = create_app()
