"""Rosters from the school's student information system (OneRoster 1.2 CSV), and attendance back to it.

The admin uploads the SIS's OneRoster ZIP; `plan` says what confirming would do (nothing written), `apply` does it
in one transaction, `views` holds the pages (upload -> preview -> confirm, as the teacher's roster import) and the
attendance export keyed by the same sourcedIds. The files are read and checked by `..oneroster`.
"""

from flask import Blueprint

bp = Blueprint("sis_import", __name__)

from . import views  # noqa: E402,F401
