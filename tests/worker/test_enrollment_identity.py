"""A portrait of someone else, uploaded to a student who already has accepted portraits, is refused with a sentence
the teacher understands, instead of quietly teaching the system the wrong face. Real model, real LFW photos."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import FaceEmbedding, PhotoStatus, StudentPhoto
from attendance_shared.refusals import PortraitRefusal
from attendance_shared.settings import get_settings
from attendance_shared.storage import make_store
from tests.conftest import require_facedata
from tests.factories import seed_course

pytestmark = pytest.mark.facedata


def _lfw(name: str, n: int):
    return require_facedata() / "lfw" / "identities" / name / f"{name}_{n:04d}.jpg"


def _enroll_in_order(student_id: int) -> list[StudentPhoto]:
    """Each portrait in upload order, in its own transaction, as the enrollment jobs do; the rows afterwards."""
    from attendance_worker.engine import get_engine
    from attendance_worker.enrollment import enroll_photo

    url = get_settings().sqlalchemy_url
    with session_scope(url) as s:
        ids = list(s.scalars(select(StudentPhoto.id).where(StudentPhoto.student_id == student_id).order_by("id")))
    for photo_id in ids:
        with session_scope(url) as s:
            enroll_photo(s, make_store(get_settings()), get_engine(), photo_id)
    return _photos(student_id)


def _photos(student_id: int) -> list[StudentPhoto]:
    with session_scope(get_settings().sqlalchemy_url) as s:
        rows = list(s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student_id).order_by("id")))
        s.expunge_all()
        return rows


def _embeddings(photo_id: int) -> int:
    with session_scope(get_settings().sqlalchemy_url) as s:
        return int(
            s.scalar(select(func.count()).select_from(FaceEmbedding).where(FaceEmbedding.student_photo_id == photo_id))
            or 0
        )


def test_a_portrait_of_someone_else_is_refused_and_never_embedded():
    brody = [_lfw("Adrien_Brody", 1), _lfw("Adrien_Brody", 3)]  # (his photo 2 shows two faces)
    ids = seed_course({"Adrien_Brody": [*brody, _lfw("Colin_Powell", 1), _lfw("Adrien_Brody", 4)]}, [])
    first, second, powell, third = _enroll_in_order(ids["students"]["Adrien_Brody"])
    assert [first.status, second.status, third.status] == [PhotoStatus.ACCEPTED] * 3  # the same person passes
    assert (powell.status, powell.refusal) == (PhotoStatus.REJECTED, PortraitRefusal.NOT_SAME_PERSON)
    assert powell.reason == (
        "Colin_Powell_0001.jpg does not look like the same person as Adrien Brody's other portraits: check it is the "
        "right student. If the other portraits are the wrong ones, delete them: this one is then checked again."
    )
    assert powell.face_box is None
    assert _embeddings(powell.id) == 0  # never used for recognition
    assert _embeddings(first.id) == _embeddings(third.id) == 1


def test_the_verdicts_are_the_same_when_the_jobs_run_again():
    """A second delivery of each job: the refused portrait stays refused, the accepted ones stay accepted."""
    ids = seed_course({"Adrien_Brody": [_lfw("Adrien_Brody", 1), _lfw("Colin_Powell", 2), _lfw("Adrien_Brody", 3)]}, [])
    student = ids["students"]["Adrien_Brody"]
    once = [(p.status, p.refusal, p.reason) for p in _enroll_in_order(student)]
    twice = [(p.status, p.refusal, p.reason) for p in _enroll_in_order(student)]
    assert once == twice
    assert [status for status, _, _ in once] == [PhotoStatus.ACCEPTED, PhotoStatus.REJECTED, PhotoStatus.ACCEPTED]


def test_a_first_portrait_is_accepted_whoever_it_shows_and_then_is_the_reference():
    """No portrait to compare with yet: accepted as before. If it was the wrong photo, the right person's portraits
    are the ones refused, and the sentence says to delete the others."""
    ids = seed_course({"Adrien_Brody": [_lfw("Colin_Powell", 1), _lfw("Adrien_Brody", 1)]}, [])
    wrong, right = _enroll_in_order(ids["students"]["Adrien_Brody"])
    assert wrong.status == PhotoStatus.ACCEPTED
    assert right.status == PhotoStatus.REJECTED
    assert "If the other portraits are the wrong ones, delete them: this one is then checked again." in (
        right.reason or ""
    )


def test_a_wrong_portrait_between_two_right_ones_is_the_one_refused():
    """[right, wrong, right]: the wrong one is compared with the first and refused; the third passes."""
    ids = seed_course({"Adrien_Brody": [_lfw("Adrien_Brody", 1), _lfw("Colin_Powell", 1), _lfw("Adrien_Brody", 3)]}, [])
    first, wrong, second = _enroll_in_order(ids["students"]["Adrien_Brody"])
    assert [first.status, wrong.status, second.status] == [
        PhotoStatus.ACCEPTED,
        PhotoStatus.REJECTED,
        PhotoStatus.ACCEPTED,
    ]
    assert wrong.reason is not None and "does not look like the same person" in wrong.reason


def test_a_wrong_portrait_first_refuses_the_right_ones_and_says_deleting_it_checks_them_again():
    """[wrong, right, right]: the first is the only reference, so the two right ones are refused, with the code the
    web reads (deleting the wrong one re-queues them: tests/web/test_students.py) and the sentence saying so."""
    from attendance_shared.refusals import NOT_THE_SAME_PERSON

    ids = seed_course({"Adrien_Brody": [_lfw("Colin_Powell", 1), _lfw("Adrien_Brody", 1), _lfw("Adrien_Brody", 3)]}, [])
    wrong, first, second = _enroll_in_order(ids["students"]["Adrien_Brody"])
    assert [wrong.status, first.status, second.status] == [
        PhotoStatus.ACCEPTED,
        PhotoStatus.REJECTED,
        PhotoStatus.REJECTED,
    ]
    assert all(p.refusal == PortraitRefusal.NOT_SAME_PERSON for p in (first, second))
    assert all((p.reason or "").endswith(NOT_THE_SAME_PERSON) for p in (first, second))


def test_two_portraits_of_one_student_enrolled_at_once_are_judged_one_after_the_other(monkeypatch):
    """Two workers enroll a wrong and a right portrait of a student with no accepted portrait at the same moment.
    Each reads the student's accepted portraits, then waits a little before writing its verdict (a slow worker):
    without the lock on the student both found none and both were accepted. Now the second waits for the first
    to commit, compares with it, and one of the two is refused."""
    import threading
    import time

    from attendance_worker import enrollment
    from attendance_worker.engine import get_engine

    engine = get_engine()
    ids = seed_course({"Adrien_Brody": [_lfw("Colin_Powell", 1), _lfw("Adrien_Brody", 1)]}, [])
    student = ids["students"]["Adrien_Brody"]
    with session_scope(get_settings().sqlalchemy_url) as s:
        photo_ids = list(s.scalars(select(StudentPhoto.id).where(StudentPhoto.student_id == student)))
    real = enrollment._other_portraits

    def slow_other_portraits(*args, **kwargs):
        found = real(*args, **kwargs)
        time.sleep(1.0)
        return found

    monkeypatch.setattr(enrollment, "_other_portraits", slow_other_portraits)
    start = threading.Barrier(len(photo_ids))
    errors: list[BaseException] = []

    def enroll(photo_id: int) -> None:
        try:
            start.wait(timeout=30)
            with session_scope(get_settings().sqlalchemy_url) as s:
                enrollment.enroll_photo(s, make_store(get_settings()), engine, photo_id)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=enroll, args=(photo_id,)) for photo_id in photo_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    statuses = sorted(p.status.value for p in _photos(student))
    assert statuses == sorted([PhotoStatus.ACCEPTED.value, PhotoStatus.REJECTED.value])


def test_the_threshold_is_the_packs_confirm_threshold():
    from attendance_worker.engine import get_engine
    from attendance_worker.enrollment import same_person_threshold

    engine = get_engine()
    expected = engine.thresholds.get("enroll_same_person", engine.thresholds["confirm"])
    assert same_person_threshold(engine) == expected
    if engine.model_id.startswith("centerface+sface"):
        assert expected == pytest.approx(0.38)


def test_re_embedding_after_a_model_change_keeps_the_portraits_the_teacher_kept():
    """Portraits accepted before (even two people, kept by the teacher before this check existed) are embedded by
    the new model without being judged again: a model change never drops a student's portraits unnoticed."""
    import numpy as np
    from sqlalchemy import update

    from attendance_worker.engine import get_engine
    from attendance_worker.reembed import reembed_all

    ids = seed_course({"Adrien_Brody": [_lfw("Adrien_Brody", 1), _lfw("Colin_Powell", 1)]}, [])
    student = ids["students"]["Adrien_Brody"]
    with session_scope(get_settings().sqlalchemy_url) as s:
        s.execute(update(StudentPhoto).where(StudentPhoto.student_id == student).values(status=PhotoStatus.ACCEPTED))
        for photo_id in s.scalars(select(StudentPhoto.id).where(StudentPhoto.student_id == student)):
            vector = np.ones(64, dtype=np.float32) / 8
            s.add(
                FaceEmbedding(
                    student_id=student, student_photo_id=photo_id, model_id="old-model", dim=64, vector=vector.tobytes()
                )
            )
    reembed_all(get_engine())
    photos = _photos(student)
    assert [p.status for p in photos] == [PhotoStatus.ACCEPTED, PhotoStatus.ACCEPTED]
    assert all(_embeddings(p.id) == 2 for p in photos)  # the old model's and the new one's
