"""The admin's SIS page: OneRoster import (upload -> preview, nothing written -> confirm) and the attendance export.

Everything here is the school admin's: anyone else gets 404, and an import id of another school looks missing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import smtplib

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from attendance_shared.models import AccountLinkKind, SisImport, Teacher, new_id, utcnow
from attendance_shared.storage import TEMP_PREFIX, StorageError

from .. import ownership  # a module, not its names: ownership imports auth, which reaches this package
from ..audit import audit
from ..extensions import db, store
from ..photos import remove_photos
from ..roster.problems import ImportRefused
from ..school import links, mail
from . import bp
from .export import attendance_rows
from .forms import ExportForm, SisActionForm, SisUploadForm
from .plan import build_plan

SHOWN = 200  # rows listed per section of the preview; the counts cover every row
STALE_AFTER = dt.timedelta(days=1)
STORE_DOWN = "The file store is not answering; nothing was imported. Please try again in a minute."


def _import(admin: Teacher, import_id: str) -> SisImport:
    found = db().scalar(select(SisImport).where(SisImport.id == import_id, SisImport.school_id == admin.school_id))
    if found is None:
        abort(404)
    return found


def _expire_stale(admin: Teacher) -> None:
    stale = (
        db()
        .execute(
            update(SisImport)
            .where(
                SisImport.school_id == admin.school_id,
                SisImport.state == "preview",
                SisImport.created_at < utcnow() - STALE_AFTER,
            )
            .values(state="expired")
            .returning(SisImport.zip_key)
        )
        .scalars()
        .all()
    )
    db().commit()
    remove_photos(list(stale))


@bp.route("/school/sis")
@login_required
def index() -> ResponseReturnValue:
    admin = ownership.school_admin()
    today = dt.date.today()
    export = ExportForm(formdata=None, start=today.replace(day=1), end=today)
    return render_template("sis_import/index.html", school=admin.school, form=SisUploadForm(), export_form=export)


@bp.route("/school/sis/imports", methods=["POST"])
@login_required
def upload() -> ResponseReturnValue:
    admin = ownership.school_admin()
    back = redirect(url_for("sis_import.index"), code=303)
    form = SisUploadForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return back
    data = form.roster_zip.data.read()
    try:
        build_plan(db(), admin, data)
    except ImportRefused as exc:
        flash(f"Nothing was imported. {exc}", "error")
        return back
    _expire_stale(admin)
    import_id = new_id()
    key = f"{TEMP_PREFIX}/sis-imports/{import_id}.zip"
    try:
        store().put(key, data, "application/zip")
    except StorageError:
        flash(STORE_DOWN, "error")
        return back
    db().add(SisImport(id=import_id, school_id=admin.school_id, teacher_id=admin.id, zip_key=key))
    db().commit()
    return redirect(url_for("sis_import.preview", sis_import_id=import_id), code=303)


@bp.route("/school/sis/imports/<sis_import_id>")
@login_required
def preview(sis_import_id: str) -> ResponseReturnValue:
    admin = ownership.school_admin()
    sis_import = _import(admin, sis_import_id)
    if sis_import.state != "preview":
        flash(f"That import was {sis_import.state}; upload the file again if needed.", "error")
        return redirect(url_for("sis_import.index"))
    try:
        plan = build_plan(db(), admin, store().get(sis_import.zip_key))
    except StorageError:
        flash("The uploaded file of this import is no longer available. Please upload it again.", "error")
        return redirect(url_for("sis_import.index"))
    except ImportRefused as exc:
        flash(f"Nothing was imported. {exc}", "error")
        return redirect(url_for("sis_import.index"))
    db().rollback()  # the preview wrote nothing, and keeps nothing open
    return render_template(
        "sis_import/preview.html", sis_import=sis_import, plan=plan, form=SisActionForm(), shown=SHOWN,
        teachers={t.id: t.name for t in db().scalars(select(Teacher).where(Teacher.school_id == admin.school_id))},
    )  # fmt: skip


def _claim(sis_import: SisImport, state: str) -> bool:
    result = db().execute(
        update(SisImport)
        .where(SisImport.id == sis_import.id, SisImport.state == "preview")
        .values(state=state)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return True
    db().rollback()
    return False


@bp.route("/school/sis/imports/<sis_import_id>/confirm", methods=["POST"])
@login_required
def confirm(sis_import_id: str) -> ResponseReturnValue:
    from .apply import apply_plan

    admin = ownership.school_admin()
    sis_import = _import(admin, sis_import_id)
    if not SisActionForm().validate_on_submit():
        abort(400)
    if not _claim(sis_import, "confirmed"):
        flash("This import was confirmed or cancelled already; nothing more was done.", "error")
        return redirect(url_for("sis_import.index"), 303)
    try:
        plan = build_plan(db(), admin, store().get(sis_import.zip_key))
        invited = apply_plan(db(), plan, admin)
        audit("sis_import_confirmed", admin.id, f"import={sis_import.id} " + "; ".join(plan.summary())[:400])
        db().commit()
    except (StorageError, ImportRefused, IntegrityError) as exc:
        db().rollback()
        if isinstance(exc, IntegrityError):
            message = "Some of these rows changed elsewhere at the same moment; nothing was imported. Check again."
        else:
            message = STORE_DOWN if isinstance(exc, StorageError) else f"Nothing was imported. {exc}"
        flash(message, "error")
        return redirect(url_for("sis_import.preview", sis_import_id=sis_import.id), 303)
    remove_photos([sis_import.zip_key])
    sent = []
    for person in invited:
        link = links.url(person.token, AccountLinkKind.INVITATION)
        body = (
            f"{admin.name} invites you to take attendance at {admin.school.name}, where your classes from the "
            f"student information system are waiting.\n\nOpen this link within 7 days to create your account:\n"
            f"{link}\n\nIt works once. If you did not expect this e-mail, ignore it."
        )
        try:
            mailed = mail.send(person.email, f"Your account at {admin.school.name}", body)
        except (OSError, ValueError, smtplib.SMTPException):  # ValueError: an address the message cannot carry
            mailed = False
        sent.append((person, link, mailed))
    return render_template("sis_import/done.html", plan=plan, invited=sent, changed=plan.has_changes)


@bp.route("/school/sis/imports/<sis_import_id>/cancel", methods=["POST"])
@login_required
def cancel(sis_import_id: str) -> ResponseReturnValue:
    admin = ownership.school_admin()
    sis_import = _import(admin, sis_import_id)
    if not SisActionForm().validate_on_submit():
        abort(400)
    if _claim(sis_import, "cancelled"):
        db().commit()
        remove_photos([sis_import.zip_key])
        flash("Import cancelled; the uploaded file was deleted and nothing was changed.", "success")
    return redirect(url_for("sis_import.index"), 303)


@bp.route("/school/sis/attendance.csv")
@login_required
def export() -> ResponseReturnValue:
    admin = ownership.school_admin()
    form = ExportForm(request.args)
    if not form.validate():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(url_for("sis_import.index"))
    return attendance_csv(admin.school_id, form.start.data, form.end.data)


def attendance_csv(school_id: int, start: dt.date, end: dt.date) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["classSourcedId", "userSourcedId", "date", "status"])
    writer.writerows(attendance_rows(db(), school_id, start, end))
    name = f"attendance-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(
        out.getvalue().encode(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
