"""The school: its admin invites and manages teachers; invitations and password resets are single-use links.

accounts.py holds who may create an account and the school's rules about its teachers (the last admin stays),
links.py the single-use links, mail.py sends them when SMTP is set up, views.py the admin's page and the pages
a link opens.
"""

from flask import Blueprint

bp = Blueprint("school", __name__)

from . import views  # noqa: E402,F401
