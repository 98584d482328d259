"""Job contracts between the web (producer) and the worker (consumer): names, queues, payloads.

The web enqueues by task *name* with these payloads, so it never imports worker code.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

ATTENDANCE_TASK = "attendance.process_session"
ENROLLMENT_TASK = "attendance.enroll_photo"
SWEEP_TASK = "attendance.sweep_stuck_jobs"
RETENTION_TASK = "attendance.purge_old_photos"
REEMBED_TASK = "attendance.reembed_stale_portraits"
PORTRAIT_HASH_TASK = "attendance.hash_old_portraits"

#: an enrollment job's message when the portrait was accepted (otherwise the refusal's sentence); words for the
#: teacher only: Job.outcome says accepted or refused
ENROLLMENT_ACCEPTED = "Accepted"

ATTENDANCE_QUEUE = "attendance"
ENROLLMENT_QUEUE = "enrollment"
MAINTENANCE_QUEUE = "maintenance"
ALL_QUEUES = (ATTENDANCE_QUEUE, ENROLLMENT_QUEUE, MAINTENANCE_QUEUE)

TASK_QUEUES = {
    ATTENDANCE_TASK: ATTENDANCE_QUEUE,
    ENROLLMENT_TASK: ENROLLMENT_QUEUE,
    SWEEP_TASK: MAINTENANCE_QUEUE,
    RETENTION_TASK: MAINTENANCE_QUEUE,
    REEMBED_TASK: MAINTENANCE_QUEUE,
    PORTRAIT_HASH_TASK: MAINTENANCE_QUEUE,
}


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AttendancePayload(_Payload):
    """Recognise every photo of one attendance session and write its records."""

    job_id: str
    session_id: int


class EnrollmentPayload(_Payload):
    """Detect the one face in a student's portrait and store its embedding."""

    job_id: str
    photo_id: int
