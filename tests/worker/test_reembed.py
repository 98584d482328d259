"""After a model change, one command re-embeds every portrait with the new model; galleries never mix models."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import FaceEmbedding, StudentPhoto
from attendance_shared.settings import get_settings
from tests.conftest import require_facedata
from tests.factories import seed_course

pytestmark = pytest.mark.facedata


def test_reembed_fills_the_new_model_and_prunes_the_old():
    from attendance_worker.engine import get_engine
    from attendance_worker.gallery import course_gallery
    from attendance_worker.reembed import reembed_all

    engine = get_engine()
    group = require_facedata() / "groups" / "obama_biden"
    ids = seed_course({"Barack_Obama": sorted((group / "enroll" / "Barack_Obama").glob("*.jpg"))}, [])
    student = ids["students"]["Barack_Obama"]
    url = get_settings().sqlalchemy_url
    with session_scope(url) as s:  # embeddings of an older model, as after a model change
        for photo_id in s.scalars(select(StudentPhoto.id).where(StudentPhoto.student_id == student)):
            vector = np.ones(64, dtype=np.float32) / 8
            s.add(
                FaceEmbedding(
                    student_id=student, student_photo_id=photo_id, model_id="old-model", dim=64, vector=vector.tobytes()
                )
            )
    with session_scope(url) as s:
        assert course_gallery(s, ids["course"], engine.model_id) == {}  # the old vectors are never compared
    outcome = reembed_all(engine)
    assert outcome.embedded >= 2
    assert reembed_all(engine).embedded == 0  # idempotent: nothing left to do
    with session_scope(url) as s:
        gallery = course_gallery(s, ids["course"], engine.model_id)
        assert gallery[str(student)].shape[0] == 2
    reembed_all(engine, prune=True)
    with session_scope(url) as s:
        models = set(s.scalars(select(FaceEmbedding.model_id).where(FaceEmbedding.student_id == student)))
    assert models == {engine.model_id}


def test_attendance_after_a_model_change_embeds_the_class_first():
    """A new worker image with a new pack: the next attendance job embeds the class's portraits itself, so the
    class is not marked absent while nobody has run attendance-reembed yet."""
    from attendance_shared.models import AttendanceRecord, AttendanceStatus, PhotoStatus
    from attendance_shared.storage import make_store
    from attendance_worker.classroom_photos import process_session
    from attendance_worker.engine import get_engine

    engine = get_engine()
    group = require_facedata() / "groups" / "obama_biden"
    photo = group / "class" / "two_people.jpg"
    ids = seed_course(
        {name: sorted((group / "enroll" / name).glob("*.jpg")) for name in ("Barack_Obama", "Joe_Biden")},
        [(photo.name, photo.read_bytes())],
    )
    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as s:  # accepted under an older model, nothing for this one
        for p in s.scalars(select(StudentPhoto).where(StudentPhoto.student_id.in_(ids["students"].values()))):
            p.status = PhotoStatus.ACCEPTED
            s.add(
                FaceEmbedding(
                    student_id=p.student_id,
                    student_photo_id=p.id,
                    model_id="old-model",
                    dim=64,
                    vector=(np.ones(64, dtype=np.float32) / 8).tobytes(),
                )
            )
    steps: list[str] = []
    with session_scope(settings.sqlalchemy_url) as s:
        process_session(s, make_store(settings), engine, ids["session"], lambda _p, message: steps.append(message))
    assert any("current face model" in m for m in steps)
    with session_scope(settings.sqlalchemy_url) as s:
        statuses = set(s.scalars(select(AttendanceRecord.status).where(AttendanceRecord.session_id == ids["session"])))
        current = s.scalar(
            select(func.count())
            .select_from(FaceEmbedding)
            .where(FaceEmbedding.student_id.in_(ids["students"].values()), FaceEmbedding.model_id == engine.model_id)
        )
    assert statuses == {AttendanceStatus.PRESENT}
    assert current == 4


def test_the_beat_embeds_stale_portraits_a_few_at_a_time_and_then_stops():
    """After a model change nobody may run attendance-reembed: the beat's task embeds the accepted portraits a
    batch at a time, leaves refused ones alone, and finds nothing to do once every portrait is embedded."""
    from attendance_shared.models import PhotoStatus
    from attendance_worker.engine import get_engine
    from attendance_worker.reembed import reembed_stale

    engine = get_engine()
    group = require_facedata() / "groups" / "obama_biden"
    ids = seed_course({"Joe_Biden": sorted((group / "enroll" / "Joe_Biden").glob("*.jpg"))}, [])
    student = ids["students"]["Joe_Biden"]
    url = get_settings().sqlalchemy_url
    with session_scope(url) as s:
        photos = list(s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student)))
        assert len(photos) == 2
        photos[0].status = PhotoStatus.ACCEPTED
        photos[1].status = PhotoStatus.REJECTED  # refused before: its verdict stays
        accepted_id, rejected_id = photos[0].id, photos[1].id

    def embeddings_of(photo_id: int) -> int:
        with session_scope(url) as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(FaceEmbedding)
                    .where(FaceEmbedding.student_photo_id == photo_id, FaceEmbedding.model_id == engine.model_id)
                )
                or 0
            )

    for _ in range(20):  # other tests' stale portraits may share the database; each run takes at most 5
        if embeddings_of(accepted_id):
            break
        assert reembed_stale(engine, limit=5) <= 5
    assert embeddings_of(accepted_id) == 1 and embeddings_of(rejected_id) == 0
    while reembed_stale(engine, limit=50):
        pass
    assert reembed_stale(engine) == 0  # converged: nothing left for the next minute's run
    with session_scope(url) as s:
        assert s.get(StudentPhoto, rejected_id).status == PhotoStatus.REJECTED


def test_the_beat_schedules_every_maintenance_task_on_the_maintenance_queue():
    from attendance_shared.contracts import MAINTENANCE_QUEUE, REEMBED_TASK, TASK_QUEUES
    from attendance_shared.queue import celery_config
    from attendance_worker import tasks

    schedule = celery_config(get_settings())["beat_schedule"]
    names = {entry["task"] for entry in schedule.values()}
    assert REEMBED_TASK in names
    assert all(TASK_QUEUES[name] == MAINTENANCE_QUEUE for name in names)
    assert tasks.reembed_stale_portraits.name == REEMBED_TASK


def test_two_processes_embedding_one_portrait_at_once_leave_one_embedding():
    """An attendance job embedding its course and the beat's re-embedding can pick the same portrait: the one
    that writes second replaces the first one's row instead of failing on the (photo, model) constraint."""
    from attendance_worker.enrollment import _store_embedding

    group = require_facedata() / "groups" / "obama_biden"
    ids = seed_course({"Barack_Obama": sorted((group / "enroll" / "Barack_Obama").glob("*.jpg"))[:1]}, [])
    url = get_settings().sqlalchemy_url
    first, second = np.full(8, 0.25, np.float32), np.full(8, 0.5, np.float32)
    with session_scope(url) as job:
        photo = job.scalars(select(StudentPhoto).where(StudentPhoto.student_id == ids["students"]["Barack_Obama"]))
        photo_id = photo.one().id  # the job's transaction has begun and found nothing to replace
        with session_scope(url) as beat:
            _store_embedding(beat, beat.get(StudentPhoto, photo_id), "race-model", first)
        _store_embedding(job, job.get(StudentPhoto, photo_id), "race-model", second)
    with session_scope(url) as s:
        rows = list(
            s.scalars(
                select(FaceEmbedding).where(
                    FaceEmbedding.student_photo_id == photo_id, FaceEmbedding.model_id == "race-model"
                )
            )
        )
    assert [np.frombuffer(r.vector, np.float32).tolist() for r in rows] == [second.tolist()]


def test_reembed_all_embeds_accepted_portraits_first_and_leaves_not_the_same_person_refusals_alone():
    """After a model change no portrait has an embedding of the new model. In id order, a pending portrait of
    someone else came before the student's accepted ones and was accepted as "the first portrait", and so was one
    the teacher had been told was not the same person. Now the accepted portraits are embedded first, the pending
    one is judged against them (refused), and the one refused as not the same person is not run again."""
    from attendance_shared.models import PhotoStatus
    from attendance_shared.refusals import PortraitRefusal, not_the_same_person
    from attendance_worker.engine import get_engine
    from attendance_worker.reembed import reembed_all

    engine = get_engine()
    lfw = require_facedata() / "lfw" / "identities"
    pending, judged = lfw / "Colin_Powell" / "Colin_Powell_0002.jpg", lfw / "Colin_Powell" / "Colin_Powell_0001.jpg"
    brody = [lfw / "Adrien_Brody" / f"Adrien_Brody_{n:04d}.jpg" for n in (1, 3)]
    ids = seed_course({"Adrien_Brody": [pending, judged, *brody]}, [])  # ids in this order
    student = ids["students"]["Adrien_Brody"]
    refusal = not_the_same_person(judged.name, "Adrien Brody")
    url = get_settings().sqlalchemy_url
    with session_scope(url) as s:  # as the old model left them
        photos = list(s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student).order_by("id")))
        photos[1].status, photos[1].refusal, photos[1].reason = PhotoStatus.REJECTED, refusal.code, refusal.sentence
        for p in photos[2:]:
            p.status = PhotoStatus.ACCEPTED
            s.add(
                FaceEmbedding(
                    student_id=student,
                    student_photo_id=p.id,
                    model_id="old-model",
                    dim=64,
                    vector=(np.ones(64, dtype=np.float32) / 8).tobytes(),
                )
            )
        photo_ids = [p.id for p in photos]
    reembed_all(engine)
    with session_scope(url) as s:
        after = [s.get(StudentPhoto, photo_id) for photo_id in photo_ids]
        verdicts = [(p.status, p.refusal, p.reason) for p in after]
        current = {
            photo_id: int(
                s.scalar(
                    select(func.count())
                    .select_from(FaceEmbedding)
                    .where(FaceEmbedding.student_photo_id == photo_id, FaceEmbedding.model_id == engine.model_id)
                )
                or 0
            )
            for photo_id in photo_ids
        }
    assert verdicts[0][0] == PhotoStatus.REJECTED  # judged against the accepted portraits, now embedded
    assert verdicts[0][1] == PortraitRefusal.NOT_SAME_PERSON
    assert "does not look like the same person" in (verdicts[0][2] or "")
    assert verdicts[1] == (PhotoStatus.REJECTED, refusal.code, refusal.sentence)  # left as the teacher was told
    assert verdicts[2:] == [(PhotoStatus.ACCEPTED, None, None)] * 2
    assert [current[i] for i in photo_ids] == [0, 0, 1, 1]
