from __future__ import annotations

from collections.abc import Sequence

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from markupsafe import Markup, escape
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from attendance_shared.locks import lock_student
from attendance_shared.models import (
    Course,
    DetectedFace,
    Enrollment,
    Job,
    JobKind,
    PhotoStatus,
    Student,
    StudentPhoto,
)
from attendance_shared.refusals import PortraitRefusal
from attendance_shared.storage import StorageError, student_photo_key

from .. import direct_uploads
from ..audit import audit
from ..auth.user import current_teacher_id
from ..courses.forms import DeleteForm, StudentForm
from ..courses.views import course_page
from ..direct_uploads import DirectUpload
from ..extensions import db, settings, store
from ..ids import parse_id
from ..jobs_service import UnitOfWork, new_job
from ..ownership import (
    managed_course,
    managed_student,
    owned_course,
    owned_student,
    owned_student_photo,
    visible_courses,
)
from ..photos import remove_photos, send_photo
from ..responses import wants_json
from ..sessions.display import display_jpeg
from ..uploads import CheckedUpload, check_uploads
from . import bp
from .forms import PhotoForm
from .learned import learned_faces

MAX_PHOTOS_PER_STUDENT = 5
BROWSERS_SHOW = frozenset({"image/jpeg", "image/png", "image/webp"})
PORTRAIT_SIDE = 1000  # px, the longest side of the JPEG copy of a portrait browsers cannot show


def _came_from(student: Student) -> Course | None:
    """The course page the teacher opened this student from (`?course=`, carried through the page's forms),
    if it is one of theirs; else the student's only course; else None (back to the dashboard)."""
    course_id = parse_id(request.values.get("course")) or parse_id(request.form.get("course_id"))
    if course_id:
        course = db().scalar(select(Course).where(Course.id == course_id, visible_courses()))
        if course is not None:
            return course
    courses = list(student.courses)
    return courses[0] if len(courses) == 1 else None


@bp.app_template_filter("breakable_filename")
def breakable_filename(name: str) -> Markup:
    """The file name, escaped, with a line-break opportunity after each underscore and hyphen and before each dot,
    so that a narrow portrait card wraps "Adrien_Brody_0001.jpg" as "Adrien_Brody_ / 0001.jpg", never mid-word
    ("Adrien_Brody_0001.j / pg"). Only a part longer than the card is still broken inside."""
    parts = []
    for char in name:
        if char == ".":
            parts.append(Markup("<wbr>") + escape(char))
        elif char in "_-":
            parts.append(escape(char) + Markup("<wbr>"))
        else:
            parts.append(escape(char))
    return Markup("").join(parts)


def _student_page(student: Student, back: Course | None) -> str:
    return url_for("students.show", student_id=student.id, course=back.id if back else None)


def same_name(a: str, b: str) -> bool:
    """Names as a teacher means them: case and extra spaces do not make another person."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


@bp.route("/courses/<int:course_id>/students", methods=["POST"])
@login_required
def create(course_id: int) -> ResponseReturnValue:
    """Add a new student, or put one already on the teacher's roster (same number and name) in this course.
    A number that belongs to someone else is refused: silently enrolling that person would drop the
    typed name and put the wrong student on the list."""
    course = owned_course(course_id)
    form = StudentForm()
    if not form.validate_on_submit():
        for field, errors in form.errors.items():
            for error in errors:
                flash(f"{getattr(form, field).label.text if hasattr(form, field) else field}: {error}", "error")
        return redirect(url_for("courses.show", course_id=course.id))
    number = form.student_number.data.strip()
    name = form.name.data.strip()
    student = db().scalar(
        select(Student).where(Student.teacher_id == course.teacher_id, Student.student_number == number)
    )
    if student is not None and not same_name(student.name, name):
        if db().get(Enrollment, (course.id, student.id)) is not None:
            # Typing the name would change nothing: the student is on this course's list already.
            form.student_number.errors = [
                f"{student.name} already has number {number} in this course. Use another number for {name}."
            ]
        else:
            form.student_number.errors = [
                f"Student number {number} already belongs to {student.name}. Use another number, or type the "
                f"name {student.name} to add that student to this course."
            ]
        return course_page(course, student_form=form), 400
    existing = student is not None
    if student is None:
        student = Student(teacher_id=course.teacher_id, name=name, student_number=number, email=form.email.data or None)
        db().add(student)
        db().flush()
    enrolled = db().get(Enrollment, (course.id, student.id)) is not None
    if not enrolled:
        db().add(Enrollment(course_id=course.id, student_id=student.id))
    try:
        db().commit()
    except IntegrityError:
        db().rollback()
        flash(f"Student number {number} is already in use.", "error")
        return redirect(url_for("courses.show", course_id=course.id))
    if enrolled:
        flash(f"{student.name} ({number}) is already in {course.name}.", "info")
    elif existing:
        flash(f"{student.name} ({number}) was already on your roster and is now in {course.name}.", "success")
    else:
        flash(f"{student.name} added to {course.name}. Upload a portrait so they can be recognised.", "success")
    return redirect(url_for("students.show", student_id=student.id))


@bp.route("/students/<int:student_id>")
@login_required
def show(student_id: int) -> ResponseReturnValue:
    student = owned_student(student_id)
    return render_template(
        "students/show.html",
        student=student,
        back=_came_from(student),
        form=StudentForm(obj=student),
        photo_form=PhotoForm(),
        delete_form=DeleteForm(),
        learned=learned_faces(db(), student),
        direct=direct_uploads.enabled(),
    )


@bp.route("/students/<int:student_id>/edit", methods=["POST"])
@login_required
def edit(student_id: int) -> ResponseReturnValue:
    student = managed_student(student_id)  # a rename reaches every course the student is in
    back = _came_from(student)
    form = StudentForm()
    if form.validate_on_submit():
        student.name = form.name.data.strip()
        student.student_number = form.student_number.data.strip()
        student.email = form.email.data or None
        try:
            db().commit()
            flash("Student saved.", "success")
        except IntegrityError:
            db().rollback()
            flash(f"Student number {form.student_number.data} is already in use.", "error")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
    return redirect(_student_page(student, back))


@bp.route("/students/<int:student_id>/delete", methods=["POST"])
@login_required
def delete(student_id: int) -> ResponseReturnValue:
    """Delete the student everywhere: rows, attendance in every session, embeddings, and their photos in
    storage. Then back to the course page the teacher came from, if any. Only their owner, the owner of a course
    they are in or the school's admin deletes them (a co-teacher gets 404)."""
    student = managed_student(student_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    back = _came_from(student)
    back_url = url_for("courses.show", course_id=back.id) if back else url_for("courses.dashboard")
    keys = [p.storage_key for p in student.photos]
    name = student.name
    audit("student_deleted", current_teacher_id(), f"student_id={student.id} photos={len(keys)}")
    # Their face templates in classroom detections go too: a face matched to them stays in the photo's
    # review as an anonymous box, with no template left that could recognise them again.
    db().execute(
        update(DetectedFace)
        .where(or_(DetectedFace.student_id == student.id, DetectedFace.candidate_student_id == student.id))
        .values(embedding=None)
    )
    db().delete(student)
    db().commit()
    remove_photos(keys)
    flash(f"{name}, their photos and their attendance records were deleted.", "success")
    return redirect(back_url)


@bp.route("/courses/<int:course_id>/students/<int:student_id>/remove", methods=["POST"])
@login_required
def unenroll(course_id: int, student_id: int) -> ResponseReturnValue:
    course = managed_course(course_id)
    student = owned_student(student_id)
    if DeleteForm().validate_on_submit():
        enrollment = db().get(Enrollment, (course.id, student.id))
        if enrollment:
            db().delete(enrollment)
            db().commit()
        flash(f"{student.name} removed from {course.name}.", "success")
    return redirect(url_for("courses.show", course_id=course.id))


def refused_earlier(filename: str, name: str, reason: str | None) -> str:
    """What the teacher is told about a photo that was already refused for this student (the row stays, so the
    same bytes are not added again): why, so they choose another photo instead of sending this one again."""
    why = f": {reason.rstrip('. ')}" if reason else ""
    return f"{filename} was refused earlier for {name}{why}. The same photo is not added again: choose another one."


Note = tuple[str, str]  # a flash message and its category
#: a portrait checked by the web (posted), or one the browser put in the bucket itself (checked by the worker)
Portrait = CheckedUpload | DirectUpload


def _new_portraits(student: Student, uploads: Sequence[Portrait]) -> tuple[list[Portrait], list[Note]]:
    """The uploads that are not already this student's portraits (nor repeated in the batch), and a note for each
    one left out, saying why a refused one was refused. Otherwise a form sent twice takes two of the five places."""
    known = {p.content_sha256: p for p in student.photos if p.content_sha256}
    seen: set[str] = set()
    fresh: list[Portrait] = []
    notes: list[Note] = []
    for upload in uploads:
        earlier = known.get(upload.sha256)
        if earlier is not None and earlier.status == PhotoStatus.REJECTED:
            notes.append((refused_earlier(upload.filename, student.name, earlier.reason), "error"))
            continue
        if earlier is not None or upload.sha256 in seen:
            notes.append(
                (f"{upload.filename} is already one of {student.name}'s portraits; it was not added twice.", "info")
            )
            continue
        seen.add(upload.sha256)
        fresh.append(upload)
    return fresh, notes


def _within_cap(student: Student, uploads: list[Portrait]) -> tuple[list[Portrait], list[Note]]:
    """The first uploads that fit under MAX_PHOTOS_PER_STUDENT, and the note saying why the rest were not added.
    Refused portraits do not count: they are never used, and the teacher is uploading to replace them."""
    counted = sum(1 for p in student.photos if p.status != PhotoStatus.REJECTED)
    room = max(MAX_PHOTOS_PER_STUDENT - counted, 0)
    if len(uploads) <= room:
        return uploads, []
    cap = f"A student can have at most {MAX_PHOTOS_PER_STUDENT} portraits"
    has = f"{student.name} already has {counted} (accepted or still being checked; refused ones do not count)"
    if room == 0:
        message = f"{cap} and {has}, so none of these were added. Delete a portrait to make room."
    elif counted:
        message = f"{cap} and {has}, so only the first {room} of these {len(uploads)} were added."
    else:
        message = f"{cap}, so only the first {room} of these {len(uploads)} were added."
    return uploads[:room], [(message, "error")]


def _save_portraits(student: Student, uploads: list[Portrait]) -> None:
    """Store the photos, add their rows and enrollment jobs, COMMIT, then publish. On any error nothing is kept:
    the rows are rolled back and the stored files removed, then the error is raised (StorageError, or
    IntegrityError when another request saved one of these photos for this student in the meantime)."""
    with UnitOfWork(current_teacher_id()) as work:
        for upload in uploads:
            if isinstance(upload, DirectUpload):
                # Already in the bucket under temp/: the worker checks it by content, then moves it to its key.
                work.adopt(upload.key)
                key, content_type, width, height = upload.key, upload.content_type, 0, 0
            else:
                key = student_photo_key(current_teacher_id(), student.id, upload.info.extension)
                work.put(key, upload.data, upload.info.mime)
                content_type, width, height = upload.info.mime, upload.info.width, upload.info.height
            photo = StudentPhoto(
                student_id=student.id,
                storage_key=key,
                original_filename=upload.filename,
                content_type=content_type,
                width=width,
                height=height,
                status=PhotoStatus.PENDING,
                content_sha256=upload.sha256,
            )
            db().add(photo)
            db().flush()
            work.new_job(JobKind.ENROLLMENT, photo.id)


@bp.route("/students/<int:student_id>/photos", methods=["POST"])
@login_required
def upload_photos(student_id: int) -> ResponseReturnValue:
    """Add portraits. Two requests with the same photo at once (a form sent twice) both pass the check; the
    database's unique constraint refuses the second one's row, and the whole batch is rolled back. The batch is
    then tried once more against the portraits as they are now, so the other files are saved and the photo the
    other request saved is reported as already there; if it fails again, the teacher is told which files were
    not saved."""
    student = owned_student(student_id)
    page = _student_page(student, _came_from(student))
    form = PhotoForm()
    if not form.validate_on_submit():
        flash("Choose at least one photo to upload.", "error")
        return redirect(page), 303
    good, errors = check_uploads(request.files.getlist(form.photos.name))
    return _add_portraits(student, page, good, errors)


def _add_portraits(student: Student, page: str, good: Sequence[Portrait], errors: list[str]) -> ResponseReturnValue:
    """The checked (posted) or registered (direct) portraits saved, within the cap, each told in words."""
    for error in errors:
        flash(error, "error")
    saved: list[Portrait] = []
    notes: list[Note] = []
    for attempt in (1, 2):
        # Counted and saved under the student's lock: ten uploads at once would each count the portraits before any
        # of them is saved, and all pass the cap.
        lock_student(db(), student.id)
        db().expire(student, ["photos"])
        fresh, notes = _new_portraits(student, good)  # after a rollback, student.photos is read again
        saved, capped = _within_cap(student, fresh)
        notes += capped
        try:
            _save_portraits(student, saved)
            break
        except StorageError:
            _flash_all(notes)
            flash("The photo store is not answering; nothing was saved. Please try again in a minute.", "error")
            return redirect(page), 303
        except IntegrityError:
            if attempt == 1:
                continue
            _flash_all(notes)
            names = ", ".join(u.filename for u in saved)
            flash(
                f"Not saved: {names}. Another upload for {student.name} was saving the same photos at that moment. "
                "Please upload these again.",
                "error",
            )
            return redirect(page), 303
    _flash_all(notes)
    # Direct uploads left out (already a portrait, over the cap): their objects go, nothing stays half-stored.
    direct_uploads.discard([u for u in good if isinstance(u, DirectUpload) and u not in saved])
    if saved:
        flash(f"{len(saved)} photo(s) uploaded; checking each for a usable face.", "success")
    return redirect(page), 303


@bp.route("/students/<int:student_id>/photos/sign", methods=["POST"])
@login_required
def sign_photos(student_id: int) -> ResponseReturnValue:
    """Direct uploads, step 1 (direct_uploads.sign): a presigned POST per announced portrait, or why not."""
    owned_student(student_id)
    if not direct_uploads.enabled():
        abort(404)
    body = request.get_json(silent=True)
    return direct_uploads.sign_answer(current_teacher_id(), body)


@bp.route("/students/<int:student_id>/photos/register", methods=["POST"])
@login_required
def register_photos(student_id: int) -> ResponseReturnValue:
    """Direct uploads, step 3: a `ticket` per portrait already in the bucket; then as upload_photos (its messages
    flashed). A script (JSON) is told where the page is, to show them."""
    student = owned_student(student_id)
    if not direct_uploads.enabled():
        abort(404)
    page = _student_page(student, _came_from(student))
    form = PhotoForm()
    form.photos.validators = []  # the photos are in the bucket already: only the CSRF token is checked here
    if not form.validate_on_submit():
        abort(400)
    try:
        registration = direct_uploads.register(current_teacher_id(), request.form.getlist("ticket"))
    except StorageError:
        flash("The photo store is not answering; nothing was saved. Please try again in a minute.", "error")
        return (jsonify({"redirect": page}), 503) if wants_json() else (redirect(page), 303)
    failed = direct_uploads.reported_failures(request.form.getlist("failed"))  # what S3 refused (direct.js)
    errors = [r.message for r in failed + registration.refused]
    if not registration.uploads and not errors:
        flash("Choose at least one photo to upload.", "error")
        return (jsonify({"redirect": page}), 400) if wants_json() else (redirect(page), 303)
    answer = _add_portraits(student, page, registration.uploads, errors)
    return jsonify({"redirect": page}) if wants_json() else answer


def _flash_all(notes: list[Note]) -> None:
    for message, category in notes:
        flash(message, category)


@bp.route("/student-photos/<int:photo_id>")
@login_required
def photo(photo_id: int) -> ResponseReturnValue:
    """The portrait as uploaded; a HEIC one as a JPEG copy, since most browsers cannot show HEIC."""
    p = owned_student_photo(photo_id)
    if p.content_type in BROWSERS_SHOW:
        return send_photo(p.storage_key, p.content_type)
    try:
        data = display_jpeg(store().get(p.storage_key), settings().max_image_pixels, max_side=PORTRAIT_SIDE)
    except StorageError:
        abort(404)
    response = current_app.response_class(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def _judge_again(student: Student, deleted: StudentPhoto) -> list[Job]:
    """Enrollment jobs (added to the session, not committed) for the student's portraits that were refused as not the
    same person as the others, when the deleted portrait was one those others could include (not itself refused).
    If it was the wrong one, they were refused only because of it; judged again against what remains, they are
    accepted, and a photo the teacher cannot upload again (its refused row keeps its hash) is not lost."""
    if deleted.status == PhotoStatus.REJECTED:
        return []
    refused = [
        p
        for p in student.photos
        if p.id != deleted.id and p.status == PhotoStatus.REJECTED and p.refusal == PortraitRefusal.NOT_SAME_PERSON
    ]
    for p in refused:
        p.status, p.refusal, p.reason = PhotoStatus.PENDING, None, None
    return [new_job(current_teacher_id(), JobKind.ENROLLMENT, p.id) for p in refused]


@bp.route("/student-photos/<int:photo_id>/delete", methods=["POST"])
@login_required
def delete_photo(photo_id: int) -> ResponseReturnValue:
    p = owned_student_photo(photo_id)
    managed_student(p.student_id)  # a co-teacher sees the portraits; their owner or the admin deletes them
    if DeleteForm().validate_on_submit():
        page = _student_page(p.student, _came_from(p.student))
        key = p.storage_key
        student_id = p.student_id
        student_name = p.student.name
        audit("student_photo_deleted", current_teacher_id(), f"photo_id={p.id} student_id={student_id}")
        with UnitOfWork(current_teacher_id()) as work:
            jobs = [work.add_job(job) for job in _judge_again(p.student, p)]
            db().delete(p)
            work.remove_after_commit(key)
        flash("Photo deleted.", "success")
        if jobs:
            which = "1 portrait that was refused" if len(jobs) == 1 else f"{len(jobs)} portraits that were refused"
            flash(
                f"{which} as not looking like {student_name}'s other portraits will be checked again against the "
                "portraits that remain.",
                "info",
            )
        return redirect(page)
    abort(400)
