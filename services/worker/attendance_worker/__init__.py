"""The Celery worker: enrollment and attendance recognition jobs, plus maintenance."""
