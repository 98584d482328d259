"""state as data: a portrait's refusal code, a job's outcome and why a portrait has no hash get columns

Until now a "not the same person" refusal was recognised by the end of its sentence, a refused portrait check
by a job message other than "Accepted", and a portrait whose file is gone by a "missing:<id>" marker (a second
copy by "duplicate:<id>") in content_sha256. Existing rows are converted from those texts; the texts themselves
stay (reason and message are what the teacher reads), so nothing is lost and the downgrade writes the markers back.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# (table, column, enum name, values) as in attendance_shared.models at this revision (as in 0004)
CHECKS = (
    (
        "student_photos",
        "refusal",
        "portrait_refusal",
        ("unreadable", "no_face", "several_faces", "too_small", "too_blurry", "not_same_person"),
    ),
    ("student_photos", "unhashed", "portrait_unhashed", ("file_missing", "copy")),
    ("jobs", "outcome", "job_outcome", ("done", "accepted", "refused", "gone")),
)
UNHASHED_WITHOUT_SHA = "unhashed IS NULL OR content_sha256 IS NULL"

# The sentences as the worker wrote them up to this revision (attendance_shared.refusals now), each recognised by a
# fixed part the file name cannot push aside (the name comes first, or the fixed part ends the sentence). Tried in
# this order on the refused portraits still without a code; what is left is an ImageRejected sentence: unreadable.
NOT_THE_SAME_PERSON = (
    "% does not look like the same person as %'s other portraits: check it is the right student. If the other "
    "portraits are the wrong ones, delete them: this one is then checked again."
)
REFUSAL_SENTENCES = (
    ("not_same_person", NOT_THE_SAME_PERSON),
    ("several_faces", "% faces in %: upload a photo of this student alone"),
    ("too_small", "The face in % is too small (% px wide; at least % px needed): upload a closer photo"),
    ("too_blurry", "The face in % is too blurry (sharpness %): upload a sharper photo"),
    ("no_face", "No face found in %"),
)
PHOTO_GONE = "The photo was deleted before it could be checked."
SESSION_GONE = "The session was deleted before it could be processed."
MARKERS = (("file_missing", "missing:"), ("copy", "duplicate:"))


def upgrade() -> None:
    columns = {"student_photos": ("refusal", "unhashed"), "jobs": ("outcome",)}
    for table, names in columns.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in names:
                batch_op.add_column(sa.Column(column, sa.String(length=16), nullable=True))
            for check_table, column, name, values in CHECKS:
                if check_table == table:
                    allowed = ", ".join(f"'{v}'" for v in values)
                    batch_op.create_check_constraint(op.f(f"ck_{table}_{name}"), f"{column} IN ({allowed})")
            if table == "student_photos":
                batch_op.create_check_constraint(op.f("ck_student_photos_unhashed_without_sha"), UNHASHED_WITHOUT_SHA)
    _convert()


def _convert() -> None:
    """Codes from the texts (LIKE's `_` matches any one character: none of these fixed parts holds one)."""
    run = op.get_bind().execute
    refused = "UPDATE student_photos SET refusal = :code WHERE status = 'rejected' AND refusal IS NULL"
    for code, sentence in REFUSAL_SENTENCES:
        run(sa.text(refused + " AND reason LIKE :sentence"), {"code": code, "sentence": sentence})
    run(sa.text(refused + " AND reason IS NOT NULL"), {"code": "unreadable"})
    for state, marker in MARKERS:
        run(
            sa.text("UPDATE student_photos SET unhashed = :state, content_sha256 = NULL WHERE content_sha256 LIKE :m"),
            {"state": state, "m": marker + "%"},
        )
    # The web read "refused" into any succeeded portrait check whose message was not "Accepted" (one whose photo
    # was deleted first included); a job without a message was not refused, and keeps no outcome.
    run(
        sa.text(
            "UPDATE jobs SET outcome = CASE WHEN message = :gone THEN 'gone' WHEN message = 'Accepted' THEN 'accepted'"
            " ELSE 'refused' END WHERE kind = 'enrollment' AND state = 'succeeded' AND message IS NOT NULL"
        ),
        {"gone": PHOTO_GONE},
    )
    run(
        sa.text(
            "UPDATE jobs SET outcome = CASE WHEN message = :gone THEN 'gone' ELSE 'done' END"
            " WHERE kind = 'attendance' AND state = 'succeeded'"
        ),
        {"gone": SESSION_GONE},
    )


def downgrade() -> None:
    run = op.get_bind().execute
    for state, marker in MARKERS:  # each marker holds its own row's id, as attendance_worker.portrait_hashes wrote it
        run(
            sa.text(
                "UPDATE student_photos SET content_sha256 = :m || CAST(id AS VARCHAR(20)), unhashed = NULL"
                " WHERE unhashed = :state"
            ),
            {"state": state, "m": marker},
        )
    columns = {"jobs": ("outcome",), "student_photos": ("unhashed", "refusal")}
    for table, names in columns.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "student_photos":
                batch_op.drop_constraint(op.f("ck_student_photos_unhashed_without_sha"), type_="check")
            for check_table, _column, name, _values in reversed(CHECKS):
                if check_table == table:
                    batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
            for column in names:
                batch_op.drop_column(column)
