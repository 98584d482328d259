"""Single sign-on: "Sign in with your school account" through the school's OpenID Connect provider (Google
Workspace, Microsoft Entra ID, any certified provider), and the admin's page that sets it up."""

from flask import Blueprint

bp = Blueprint("sso", __name__)

from . import views  # noqa: E402,F401
