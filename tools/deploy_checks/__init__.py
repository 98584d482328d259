"""Deployment helpers and the schemas the deploy checks (tests/deploy) validate against."""
