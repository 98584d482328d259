"""Why a portrait is refused: the code that is stored and decided on, and the sentence the teacher reads.

StudentPhoto.refusal holds the code; StudentPhoto.reason holds the sentence made here, with the photo's details
(its file name, the face's size), for the pages only. Code that decides (the web judging "not the same person"
portraits again, attendance-reembed leaving them alone, a job that reads "photo refused") reads the code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .images import ImageRejected


class PortraitRefusal(enum.StrEnum):
    UNREADABLE = "unreadable"  # the worker could not decode the file (attendance_shared.images.ImageRejected)
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"  # more than one main face: not a photo of the student alone
    TOO_SMALL = "too_small"  # below the pack's enroll_min_face_px
    TOO_BLURRY = "too_blurry"  # below the pack's enroll_min_blur
    NOT_SAME_PERSON = "not_same_person"  # unlike every accepted portrait of the student (attendance_worker.enrollment)


#: how every NOT_SAME_PERSON sentence ends: what the teacher can do about it
NOT_THE_SAME_PERSON = (
    "check it is the right student. If the other portraits are the wrong ones, delete them: this one is then "
    "checked again."
)


@dataclass(frozen=True)
class Refusal:
    code: PortraitRefusal
    sentence: str


def unreadable(rejected: ImageRejected) -> Refusal:
    return Refusal(PortraitRefusal.UNREADABLE, str(rejected))


def no_face(filename: str) -> Refusal:
    return Refusal(PortraitRefusal.NO_FACE, f"No face found in {filename}")


def several_faces(filename: str, count: int) -> Refusal:
    return Refusal(PortraitRefusal.SEVERAL_FACES, f"{count} faces in {filename}: upload a photo of this student alone")


def too_small(filename: str, face_px: int, min_px: int) -> Refusal:
    return Refusal(
        PortraitRefusal.TOO_SMALL,
        f"The face in {filename} is too small ({face_px} px wide; at least {min_px} px needed): upload a closer photo",
    )


def too_blurry(filename: str, blur: float, min_blur: float, face_px: int) -> Refusal:
    return Refusal(
        PortraitRefusal.TOO_BLURRY,
        f"The face in {filename} is too blurry (sharpness {blur:.0f}, at least {min_blur:.0f} needed; face "
        f"{face_px} px wide): upload a sharper photo",
    )


def not_the_same_person(filename: str, name: str) -> Refusal:
    return Refusal(
        PortraitRefusal.NOT_SAME_PERSON,
        f"{filename} does not look like the same person as {name}'s other portraits: {NOT_THE_SAME_PERSON}",
    )
