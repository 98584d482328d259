"""The school: its admin invites and manages teachers; invitations and password resets are single-use links.

accounts.py holds who may create an account and the school's rules about its teachers (the last admin stays),
links.py the single-use links, mail.py sends them when SMTP is set up, views.py the admin's page and the pages
a link opens, report.py the school report's page (its figures: reports.school).
"""

from flask import Blueprint

bp = Blueprint("school", __name__)

from . import report, views  # noqa: E402,F401
