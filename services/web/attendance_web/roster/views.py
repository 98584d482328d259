"""Roster pages and the bulk import: upload -> preview (nothing written) -> confirm -> progress."""

from __future__ import annotations

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from attendance_shared.models import Course, Enrollment, PhotoStatus, RosterImport, Student, StudentPhoto, new_id
from attendance_shared.storage import StorageError

from ..auth.user import current_teacher_id
from ..extensions import db, settings, store
from ..jobs_service import UnitOfWork
from ..ownership import owned_course
from . import bp
from .apply import apply_plan
from .forms import ImportActionForm, ImportForm
from .plan import build_plan, open_photos
from .problems import ImportRefused
from .temp_files import discard_files, expire_stale_previews, load_files, save_files
from .thumbnails import NoSuchPortrait, portrait_thumbnail, thumbnail_key

PREVIEW_ROWS = 100  # students listed on the preview; the counts always cover every row
PROBLEMS_SHOWN = 100  # messages listed per section
REFUSALS_SHOWN = 200
TEMPLATE_CSV = "student_number,name,email\r\n1001,Zoë Nowak,zoe.nowak@example.org\r\n1002,Sam Lee,\r\n"
STORE_DOWN = "The photo store is not answering; nothing was imported. Please try again in a minute."
FILES_GONE = "The uploaded files of this import are no longer available. Please upload them again."


def owned_import(import_id: str) -> RosterImport:
    """The teacher's own import or 404 (another teacher's id looks exactly like a missing one)."""
    roster_import = db().scalar(
        select(RosterImport).where(RosterImport.id == import_id, RosterImport.teacher_id == current_teacher_id())
    )
    if roster_import is None:
        abort(404)
    return roster_import


@bp.route("/courses/<int:course_id>/roster")
@login_required
def index(course_id: int) -> ResponseReturnValue:
    course = owned_course(course_id)
    counts: dict[tuple[int, PhotoStatus], int] = {
        (student_id, status): n
        for student_id, status, n in db().execute(
            select(StudentPhoto.student_id, StudentPhoto.status, func.count())
            .join(Enrollment, Enrollment.student_id == StudentPhoto.student_id)
            .where(Enrollment.course_id == course.id)
            .group_by(StudentPhoto.student_id, StudentPhoto.status)
        )
    }
    imports = (
        db()
        .scalars(
            select(RosterImport)
            .where(RosterImport.course_id == course.id, RosterImport.teacher_id == current_teacher_id())
            .order_by(RosterImport.created_at.desc())
            .limit(5)
        )
        .all()
    )
    return render_template(
        "roster/index.html", course=course, counts=counts, imports=imports, form=ImportForm(), PhotoStatus=PhotoStatus
    )


@bp.route("/courses/<int:course_id>/roster/template.csv")
@login_required
def template(course_id: int) -> ResponseReturnValue:
    owned_course(course_id)
    # With a BOM, Excel opens the accented example name correctly; our reader accepts it either way.
    body = TEMPLATE_CSV.encode("utf-8-sig")
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="roster-template.csv"', "Cache-Control": "no-store"},
    )


@bp.route("/courses/<int:course_id>/roster/imports", methods=["POST"])
@login_required
def upload(course_id: int) -> ResponseReturnValue:
    course = owned_course(course_id)
    back = redirect(url_for("roster.index", course_id=course.id), code=303)
    form = ImportForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return back
    csv_data = form.roster_csv.data.read()
    zip_file: FileStorage | None = form.photos_zip.data
    zip_data = zip_file.read() if zip_file and zip_file.filename else None
    try:
        build_plan(db(), course.teacher_id, course.id, csv_data, open_photos(zip_data))
    except ImportRefused as exc:
        flash(f"Nothing was imported. {exc}", "error")
        return back
    expire_stale_previews(current_teacher_id())
    import_id = new_id()
    try:
        csv_key, zip_key = save_files(import_id, csv_data, zip_data)
    except StorageError:
        flash(STORE_DOWN, "error")
        return back
    db().add(
        RosterImport(
            id=import_id, teacher_id=current_teacher_id(), course_id=course.id, csv_key=csv_key, zip_key=zip_key
        )
    )
    db().commit()
    return redirect(url_for("roster.preview", import_id=import_id), code=303)


@bp.route("/roster-imports/<import_id>")
@login_required
def preview(import_id: str) -> ResponseReturnValue:
    roster_import = owned_import(import_id)
    if roster_import.state != "preview":
        return _not_in_preview(roster_import)
    course = owned_course(roster_import.course_id)
    try:
        csv_data, zip_data = load_files(roster_import)
        plan = build_plan(db(), course.teacher_id, course.id, csv_data, open_photos(zip_data))
    except StorageError:
        flash(FILES_GONE, "error")
        return redirect(url_for("roster.index", course_id=course.id))
    except ImportRefused as exc:  # only if the limits changed since the upload
        flash(f"Nothing was imported. {exc}", "error")
        return redirect(url_for("roster.index", course_id=course.id))
    return render_template(
        "roster/preview.html",
        course=course,
        roster_import=roster_import,
        plan=plan,
        form=ImportActionForm(),
        preview_rows=PREVIEW_ROWS,
        problems_shown=PROBLEMS_SHOWN,
        thumbnail_key=thumbnail_key,
    )


@bp.route("/roster-imports/<import_id>/portraits/<int:key>.jpg")
@login_required
def portrait(import_id: str, key: int) -> ResponseReturnValue:
    """A thumbnail of one portrait of a preview, for the teacher who uploaded it, while it is a preview."""
    roster_import = owned_import(import_id)
    if roster_import.state != "preview" or not roster_import.zip_key:
        abort(404)
    try:
        data = portrait_thumbnail(store().get(roster_import.zip_key), key, settings().max_image_pixels)
    except (StorageError, NoSuchPortrait):
        abort(404)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.route("/roster-imports/<import_id>/confirm", methods=["POST"])
@login_required
def confirm(import_id: str) -> ResponseReturnValue:
    """Exactly once: the state moves preview -> confirmed in this transaction, under the row's lock,
    so a double click or a second tab waits for the first and then finds nothing left to do."""
    roster_import = owned_import(import_id)
    if not ImportActionForm().validate_on_submit():
        abort(400)
    if not _claim(roster_import, "confirmed"):
        return _not_in_preview(roster_import)
    try:  # whatever happens, no half import: no rows, no stored photos (the unit of work undoes both)
        with UnitOfWork(roster_import.teacher_id) as work:
            csv_data, zip_data = load_files(roster_import)
            archive = open_photos(zip_data)
            # The students are the course owner's, whoever imports (a co-teacher may)
            owner = db().get(Course, roster_import.course_id)
            assert owner is not None
            plan = build_plan(db(), owner.teacher_id, roster_import.course_id, csv_data, archive)
            apply_plan(
                db(),
                plan,
                archive,
                work,
                teacher_id=owner.teacher_id,
                course_id=roster_import.course_id,
                roster_import_id=roster_import.id,
            )
    except (StorageError, ImportRefused, IntegrityError) as exc:
        if isinstance(exc, IntegrityError):
            flash(
                "Some of these students were added elsewhere at the same moment; nothing was imported. "
                "Please check the preview again.",
                "error",
            )
        else:
            flash(STORE_DOWN if isinstance(exc, StorageError) else f"Nothing was imported. {exc}", "error")
        return redirect(url_for("roster.preview", import_id=roster_import.id), code=303)
    discard_files(roster_import)
    # The plan applied is the one built in this transaction: its counts are what was done (as on the preview).
    if plan.has_changes:
        unchanged = f" {plan.unchanged} student(s) already in this course stay as they were." if plan.unchanged else ""
        # Whether the portraits are still being checked is the progress page's live line, not this message: a
        # banner saying "being checked" stayed there after every portrait was checked.
        flash(f"{plan.change_summary(done=True)}.{unchanged}", "success")
    else:
        flash(plan.nothing_to_import.replace("Nothing to import", "Nothing was imported"), "info")
    return redirect(url_for("roster.progress", import_id=roster_import.id), code=303)


@bp.route("/roster-imports/<import_id>/cancel", methods=["POST"])
@login_required
def cancel(import_id: str) -> ResponseReturnValue:
    roster_import = owned_import(import_id)
    if not ImportActionForm().validate_on_submit():
        abort(400)
    if not _claim(roster_import, "cancelled"):
        return _not_in_preview(roster_import)
    db().commit()
    discard_files(roster_import)
    flash("Import cancelled; the uploaded files were deleted and nothing was changed.", "success")
    return redirect(url_for("roster.index", course_id=roster_import.course_id), code=303)


@bp.route("/roster-imports/<import_id>/progress")
@login_required
def progress(import_id: str) -> ResponseReturnValue:
    roster_import = owned_import(import_id)
    if roster_import.state != "confirmed":
        return _not_in_preview(roster_import)
    course = owned_course(roster_import.course_id)
    return render_template(
        "roster/progress.html", course=course, roster_import=roster_import, status=_progress(roster_import)
    )


@bp.route("/roster-imports/<import_id>/progress.json")
@login_required
def progress_json(import_id: str) -> ResponseReturnValue:
    roster_import = owned_import(import_id)
    return jsonify(_progress(roster_import))


def _claim(roster_import: RosterImport, new_state: str) -> bool:
    """Conditional UPDATE: true for the one request that moves this import out of "preview"."""
    result = db().execute(
        update(RosterImport)
        .where(
            RosterImport.id == roster_import.id,
            RosterImport.teacher_id == current_teacher_id(),
            RosterImport.state == "preview",
        )
        .values(state=new_state)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return True
    db().rollback()
    db().refresh(roster_import)
    return False


def _not_in_preview(roster_import: RosterImport) -> ResponseReturnValue:
    """Send the teacher to the page that fits the import's state (303 after a POST, 302 after a GET)."""
    code = 303 if request.method == "POST" else 302
    if roster_import.state == "confirmed":
        return redirect(url_for("roster.progress", import_id=roster_import.id), code=code)
    if roster_import.state == "preview":
        return redirect(url_for("roster.preview", import_id=roster_import.id), code=code)
    flash(
        f"That import was {roster_import.state}; nothing from it was imported. Upload the files again if needed.",
        "error",
    )
    return redirect(url_for("roster.index", course_id=roster_import.course_id), code=code)


def import_photos(roster_import: RosterImport) -> Select[StudentPhoto]:
    """This import's photos."""
    return select(StudentPhoto).where(StudentPhoto.roster_import_id == roster_import.id)


def _progress(roster_import: RosterImport) -> dict[str, object]:
    photos = import_photos(roster_import).subquery()
    counts = {status: 0 for status in PhotoStatus}
    for status, n in db().execute(select(photos.c.status, func.count()).group_by(photos.c.status)):
        counts[PhotoStatus(status)] = n
    refused = (
        db()
        .execute(
            select(Student.id, Student.name, Student.student_number, photos.c.original_filename, photos.c.reason)
            .join(photos, photos.c.student_id == Student.id)
            .where(photos.c.status == PhotoStatus.REJECTED)
            .order_by(Student.name, photos.c.id)
            .limit(REFUSALS_SHOWN)
        )
        .all()
    )
    total = sum(counts.values())
    return {
        "state": roster_import.state,
        "total": total,
        "pending": counts[PhotoStatus.PENDING],
        "accepted": counts[PhotoStatus.ACCEPTED],
        "rejected": counts[PhotoStatus.REJECTED],
        "done": counts[PhotoStatus.PENDING] == 0,
        "refusals": [
            {
                "student": name,
                "student_number": number,
                "student_url": url_for("students.show", student_id=student_id),
                "filename": filename,
                "reason": reason or "Refused",
            }
            for student_id, name, number, filename, reason in refused
        ],
        "course_url": url_for("courses.show", course_id=roster_import.course_id),
    }
