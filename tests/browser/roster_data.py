"""The roster the browser test imports: two people of the group photo and two LFW people, with
portraits named by student number, built from ../shared/facedata into the test's tmp folder."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

PREFERRED_LFW = ("George_W_Bush", "Colin_Powell")
GROUP_PEOPLE = ("Barack_Obama", "Joe_Biden")


@dataclass(frozen=True)
class Person:
    number: str
    name: str
    portraits: tuple[Path, ...]


def roster_people(facedata: Path) -> list[Person]:
    enroll = facedata / "groups" / "obama_biden" / "enroll"
    identities = facedata / "lfw" / "identities"
    lfw = [name for name in PREFERRED_LFW if (identities / name).is_dir()]
    if len(lfw) < 2:  # another LFW subset: any two people who are not in the group photo
        lfw += [p.name for p in sorted(identities.iterdir()) if p.name not in lfw + list(GROUP_PEOPLE)][: 2 - len(lfw)]
    people = [
        Person(str(1001 + i), folder.replace("_", " "), tuple(sorted((enroll / folder).glob("*.jpg"))))
        for i, folder in enumerate(GROUP_PEOPLE)
    ]
    people += [
        Person(
            str(1003 + i),
            folder.replace("_", " "),
            tuple(identities / folder / f"{folder}_{n:04d}.jpg" for n in (1, 2, 3)),
        )
        for i, folder in enumerate(lfw)
    ]
    for person in people:
        assert person.portraits and all(p.is_file() for p in person.portraits), person
    return people


def write_roster_files(people: list[Person], folder: Path) -> tuple[Path, Path]:
    """roster.csv (student_number,name) and portraits.zip (1001.jpg, 1001_2.jpg, ...)."""
    csv_path = folder / "roster.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student_number", "name"])
        writer.writerows([p.number, p.name] for p in people)
    zip_path = folder / "portraits.zip"
    with zipfile.ZipFile(zip_path, "w") as z:
        for person in people:
            for i, photo in enumerate(person.portraits):
                z.write(photo, f"portraits/{person.number}{'' if i == 0 else f'_{i + 1}'}.jpg")
    return csv_path, zip_path


def stranger_photo(facedata: Path, folder: Path) -> Path:
    """A classroom-sized photo of one LFW distractor (nobody on the roster): an unknown face."""
    source = sorted((facedata / "lfw" / "distractors_single_image").glob("*.jpg"))[0]
    canvas = Image.new("RGB", (1200, 800), (205, 210, 214))
    face = Image.open(source).convert("RGB").resize((500, 500), Image.Resampling.LANCZOS)
    canvas.paste(face, (350, 150))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=92)
    path = folder / "back_row.jpg"
    path.write_bytes(out.getvalue())
    return path
