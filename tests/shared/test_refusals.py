"""A refused portrait carries a code, which code decides on, and a sentence, which the teacher reads: the sentences
are the ones the pages have always shown, and migration 0006 recognises each of them (tests/shared/test_migrations)."""

from __future__ import annotations

from attendance_shared import refusals
from attendance_shared.images import ImageRejected
from attendance_shared.refusals import NOT_THE_SAME_PERSON, PortraitRefusal


def test_each_refusal_has_its_code_and_the_sentence_the_teacher_reads():
    rejected = ImageRejected("cut.png is damaged or incomplete. Please upload it again.")
    assert [
        (r.code, r.sentence)
        for r in (
            refusals.unreadable(rejected),
            refusals.no_face("wall.jpg"),
            refusals.several_faces("two.jpg", 2),
            refusals.too_small("far.jpg", 31, 40),
            refusals.too_blurry("shaky.jpg", 12.4, 40.0, 90),
        )
    ] == [
        (PortraitRefusal.UNREADABLE, "cut.png is damaged or incomplete. Please upload it again."),
        (PortraitRefusal.NO_FACE, "No face found in wall.jpg"),
        (PortraitRefusal.SEVERAL_FACES, "2 faces in two.jpg: upload a photo of this student alone"),
        (
            PortraitRefusal.TOO_SMALL,
            "The face in far.jpg is too small (31 px wide; at least 40 px needed): upload a closer photo",
        ),
        (
            PortraitRefusal.TOO_BLURRY,
            "The face in shaky.jpg is too blurry (sharpness 12, at least 40 needed; face 90 px wide): "
            "upload a sharper photo",
        ),
    ]


def test_a_not_the_same_person_refusal_tells_the_teacher_what_deleting_the_others_does():
    refusal = refusals.not_the_same_person("a.jpg", "Ann")
    assert refusal.code == PortraitRefusal.NOT_SAME_PERSON
    assert (
        refusal.sentence == f"a.jpg does not look like the same person as Ann's other portraits: {NOT_THE_SAME_PERSON}"
    )
    assert NOT_THE_SAME_PERSON.endswith("delete them: this one is then checked again.")
