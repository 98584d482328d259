"""Portraits stored before migration 0005 get their content hash from the beat, a batch at a time, so the same
photo uploaded again is recognised; copies and missing files are marked, never deleted, never retried."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select, update

from attendance_shared.db import session_scope
from attendance_shared.models import StudentPhoto, Unhashed
from attendance_shared.settings import get_settings
from attendance_shared.storage import StorageError, make_store
from tests.factories import seed_course


def _portraits(tmp_path, *contents: bytes):
    paths = []
    for data in contents:
        path = tmp_path / f"{uuid.uuid4().hex}.jpg"
        path.write_bytes(data)
        paths.append(path)
    return paths


def _hashes(student_id: int) -> dict[int, str | Unhashed | None]:
    """Each portrait's hash, or why the backfill left it without one, or None while it is still to be read."""
    with session_scope(get_settings().sqlalchemy_url) as s:
        rows = s.execute(
            select(StudentPhoto.id, StudentPhoto.content_sha256, StudentPhoto.unhashed)
            .where(StudentPhoto.student_id == student_id)
            .order_by(StudentPhoto.id)
        )
        return {photo_id: sha or unhashed for photo_id, sha, unhashed in rows}


def _run_until_done() -> None:
    from attendance_worker.portrait_hashes import backfill_portrait_hashes

    for _ in range(100):  # other tests' portraits may share the database
        if not backfill_portrait_hashes():
            return
    raise AssertionError("the backfill never finished")


def test_old_portraits_are_hashed_a_batch_at_a_time_and_then_the_beat_stops(tmp_path):
    from attendance_worker.portrait_hashes import backfill_portrait_hashes

    a, b, c = b"portrait a", b"portrait b", b"portrait c"
    ids = seed_course({"Ann": _portraits(tmp_path, a, b, c)}, [])  # stored as before 0005: no hash
    student = ids["students"]["Ann"]
    assert set(_hashes(student).values()) == {None}
    assert backfill_portrait_hashes(limit=2) <= 2
    _run_until_done()
    assert sorted(_hashes(student).values()) == sorted(hashlib.sha256(x).hexdigest() for x in (a, b, c))
    assert backfill_portrait_hashes() == 0  # converged: the next minute's run finds nothing


def test_two_copies_of_one_portrait_keep_both_rows_and_one_hash(tmp_path):
    """Copies stored before 0005 (or a copy uploaded again after it, which already holds the hash): the unique
    constraint allows one hash per student; the other copy is marked, and no teacher's photo is deleted."""
    same = b"the same portrait"
    sha = hashlib.sha256(same).hexdigest()
    ids = seed_course({"Bo": _portraits(tmp_path, same, same), "Cy": _portraits(tmp_path, same, same)}, [])
    bo, cy = ids["students"]["Bo"], ids["students"]["Cy"]
    with session_scope(get_settings().sqlalchemy_url) as s:  # Cy's later copy was uploaded after 0005
        later = max(_hashes(cy))
        s.execute(update(StudentPhoto).where(StudentPhoto.id == later).values(content_sha256=sha))
    _run_until_done()
    for student in (bo, cy):
        hashes = _hashes(student)
        assert len(hashes) == 2
        assert list(hashes.values()).count(sha) == 1
        ((_marked_id, marker),) = [(i, h) for i, h in hashes.items() if h != sha]
        assert marker == Unhashed.COPY
    assert _hashes(cy)[later] == sha  # the one that held the hash keeps it


def test_a_copy_uploaded_while_the_backfill_runs_is_left_to_the_constraint(tmp_path, monkeypatch):
    """The teacher uploads the same photo between the backfill's check and its write: the unique constraint
    refuses the write, the old row is marked as the copy, and both portraits stay."""
    from attendance_worker import portrait_hashes

    photo = b"uploaded again meanwhile"
    sha = hashlib.sha256(photo).hexdigest()
    ids = seed_course({"Flo": _portraits(tmp_path, photo)}, [])
    student = ids["students"]["Flo"]
    (old_id,) = _hashes(student)
    write = portrait_hashes._write

    def upload_first(session, photo_id, value):
        if value == sha:
            with session_scope(get_settings().sqlalchemy_url) as other:
                other.add(
                    StudentPhoto(
                        student_id=student,
                        storage_key=f"student_photos/{ids['teacher']}/{student}/{uuid.uuid4().hex}.jpg",
                        original_filename="again.jpg",
                        content_type="image/jpeg",
                        width=1,
                        height=1,
                        content_sha256=sha,
                    )
                )
        return write(session, photo_id, value)

    monkeypatch.setattr(portrait_hashes, "_write", upload_first)
    _run_until_done()
    hashes = _hashes(student)
    assert len(hashes) == 2 and hashes[old_id] == Unhashed.COPY
    assert list(hashes.values()).count(sha) == 1


def test_a_portrait_missing_from_storage_is_marked_and_not_read_again(tmp_path, monkeypatch):
    from attendance_worker import portrait_hashes

    ids = seed_course({"Di": _portraits(tmp_path, b"kept", b"lost")}, [])
    student = ids["students"]["Di"]
    store = make_store(get_settings())
    with session_scope(get_settings().sqlalchemy_url) as s:
        lost = s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student).order_by(StudentPhoto.id))
        lost_photo = lost.all()[1]
        lost_id, lost_key = lost_photo.id, lost_photo.storage_key
    store.delete(lost_key)
    _run_until_done()
    hashes = _hashes(student)
    assert hashes[lost_id] == Unhashed.FILE_MISSING
    assert hashlib.sha256(b"kept").hexdigest() in hashes.values()
    reads: list[str] = []

    class Counting:
        def get(self, key: str) -> bytes:
            reads.append(key)
            return store.get(key)

    monkeypatch.setattr(portrait_hashes, "make_store", lambda settings: Counting())
    assert portrait_hashes.backfill_portrait_hashes() == 0
    assert lost_key not in reads  # not tried again every minute


def test_a_store_that_does_not_answer_leaves_the_portraits_for_the_next_run(tmp_path, monkeypatch):
    from attendance_worker import portrait_hashes

    ids = seed_course({"Ed": _portraits(tmp_path, b"one", b"two")}, [])
    student = ids["students"]["Ed"]

    class Down:
        def get(self, key: str) -> bytes:
            raise StorageError("could not read photo (EndpointConnectionError)")

    monkeypatch.setattr(portrait_hashes, "make_store", lambda settings: Down())
    assert portrait_hashes.backfill_portrait_hashes() == 0  # the beat does not fail either
    assert set(_hashes(student).values()) == {None}
    monkeypatch.undo()
    _run_until_done()
    assert None not in _hashes(student).values()


def test_the_beat_sends_the_backfill_to_the_maintenance_queue():
    from attendance_shared.contracts import MAINTENANCE_QUEUE, PORTRAIT_HASH_TASK, TASK_QUEUES
    from attendance_shared.queue import celery_config
    from attendance_worker import tasks

    schedule = celery_config(get_settings())["beat_schedule"]
    assert {"task": PORTRAIT_HASH_TASK, "schedule": 60.0} in schedule.values()
    assert TASK_QUEUES[PORTRAIT_HASH_TASK] == MAINTENANCE_QUEUE
    assert tasks.hash_old_portraits.name == PORTRAIT_HASH_TASK


def _empty_store(tmp_path, reads: list[str]):
    """The worker's store when the shared photo volume is not mounted: an empty directory, every read a miss."""
    from attendance_shared.storage import LocalPhotoStore

    class Unmounted(LocalPhotoStore):
        def get(self, key: str) -> bytes:
            reads.append(key)
            return super().get(key)

    return Unmounted(tmp_path / "unmounted")


def test_an_empty_or_unmounted_store_marks_nothing(tmp_path, monkeypatch, caplog):
    """A worker started without the photo volume sees an empty directory: its misses prove nothing, so no portrait
    is marked missing (for good), the run stops after EMPTY_STORE_MISSES reads and says why; mounted again, the next
    run hashes them all."""
    from attendance_worker import portrait_hashes

    count = portrait_hashes.EMPTY_STORE_MISSES + 2
    ids = seed_course({"Gus": _portraits(tmp_path, *(f"portrait {i}".encode() for i in range(count)))}, [])
    student = ids["students"]["Gus"]
    reads: list[str] = []
    monkeypatch.setattr(portrait_hashes, "make_store", lambda settings: _empty_store(tmp_path, reads))
    with caplog.at_level("ERROR", logger=portrait_hashes.__name__):
        assert portrait_hashes.backfill_portrait_hashes() == 0
    assert len(reads) == portrait_hashes.EMPTY_STORE_MISSES  # stopped there, not a whole batch of misses
    assert "looks empty or unmounted" in caplog.text and "nothing was marked" in caplog.text
    assert set(_hashes(student).values()) == {None}
    # A run with fewer candidates than the threshold, all missing: the store holds no hashed portrait either.
    caplog.clear()
    with caplog.at_level("ERROR", logger=portrait_hashes.__name__):
        assert portrait_hashes.backfill_portrait_hashes(limit=2) == 0
    assert "looks empty or unmounted" in caplog.text
    assert set(_hashes(student).values()) == {None}

    monkeypatch.undo()
    _run_until_done()
    assert sorted(_hashes(student).values()) == sorted(
        hashlib.sha256(f"portrait {i}".encode()).hexdigest() for i in range(count)
    )


def test_a_store_with_most_files_present_marks_the_one_missing(tmp_path):
    from attendance_worker import portrait_hashes

    count = portrait_hashes.EMPTY_STORE_MISSES + 1
    contents = [f"kept {i}".encode() for i in range(count)]
    ids = seed_course({"Hal": _portraits(tmp_path, *contents)}, [])
    student = ids["students"]["Hal"]
    lost_id = min(_hashes(student))
    with session_scope(get_settings().sqlalchemy_url) as s:
        lost_key = s.get(StudentPhoto, lost_id).storage_key
    make_store(get_settings()).delete(lost_key)
    _run_until_done()
    hashes = _hashes(student)
    assert hashes.pop(lost_id) == Unhashed.FILE_MISSING
    assert sorted(hashes.values()) == sorted(hashlib.sha256(x).hexdigest() for x in contents[1:])


def test_a_run_of_only_missing_portraits_marks_them_when_the_store_holds_hashed_ones(tmp_path, monkeypatch):
    """Every portrait the run reads is gone (more than EMPTY_STORE_MISSES), but the store still holds portraits
    hashed before: it is mounted, the misses are real, and they are marked."""
    from attendance_worker import portrait_hashes

    ids = seed_course({"Ivy": _portraits(tmp_path, b"ivy one", b"ivy two")}, [])
    _run_until_done()
    assert None not in _hashes(ids["students"]["Ivy"]).values()
    count = portrait_hashes.EMPTY_STORE_MISSES + 1
    lost = seed_course({"Jo": _portraits(tmp_path, *(f"jo {i}".encode() for i in range(count)))}, [])
    student = lost["students"]["Jo"]
    store = make_store(get_settings())
    with session_scope(get_settings().sqlalchemy_url) as s:
        for photo in s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student)):
            store.delete(photo.storage_key)
    # Look at every hashed portrait, not a few random ones: other tests' may be gone from the store.
    monkeypatch.setattr(portrait_hashes, "STORE_PROBES", 1_000_000)
    _run_until_done()
    assert _hashes(student) == {photo_id: Unhashed.FILE_MISSING for photo_id in _hashes(student)}
