"""One real job through the compose stack's proxy, as a teacher and a script would drive it.

Sign up and sign in (the pages, with their CSRF tokens), create a course and three students, upload
their portraits (each an enrollment job on the worker), create an API token on the Settings page, then
send a classroom photo to /api/v1 and read the attendance back: the two people in the photo present,
the third absent. The photos are the ones tests/worker/test_end_to_end.py uses (../shared/facedata).

    python tools/containers/drive_job.py http://127.0.0.1:PORT [--facedata DIR]

Exits 0 when the result is right; otherwise prints what went wrong and exits 1.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


class Failed(Exception):
    pass


def _wait(what: str, probe: Callable[[], T | None], timeout: float, every: float = 1.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class Teacher:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.http = requests.Session()
        self.token = ""

    def _url(self, path: str) -> str:
        return self.base + path

    def csrf(self, path: str) -> str:
        r = self.http.get(self._url(path), timeout=30)
        if r.status_code != 200:
            raise Failed(f"GET {path}: {r.status_code} {r.text[:300]}")
        m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', r.text)
        if not m:
            raise Failed(f"GET {path}: no CSRF token in the page")
        return m.group(1)

    def post_form(self, page: str, path: str, data: dict[str, str], files: Any = None, expect: int = 302) -> str:
        data = {**data, "csrf_token": self.csrf(page)}
        r = self.http.post(self._url(path), data=data, files=files, allow_redirects=False, timeout=120)
        if r.status_code != expect:
            raise Failed(f"POST {path}: {r.status_code}, expected {expect}: {r.text[:500]}")
        return r.headers.get("Location", "")

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        r = self.http.request(method, self._url(path), headers=headers, timeout=120, **kwargs)
        if r.status_code >= 400:
            raise Failed(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r.json()

    def sign_up_and_in(self) -> None:
        email = f"containers-{uuid.uuid4().hex[:8]}@school.example.org"
        form = {"name": "Container Check", "email": email, "password": PASSWORD, "confirm": PASSWORD}
        where = self.post_form("/signup", "/signup", form, expect=303)
        if not where.endswith("/login"):
            raise Failed(f"sign-up went to {where!r}, not the sign-in page")
        self.post_form("/login", "/login", {"email": email, "password": PASSWORD})

    def create_token(self) -> None:
        page = self.http.get(self._url("/settings"), timeout=30).text
        nonce = re.search(r'name="nonce"[^>]*value="([^"]+)"', page) or re.search(
            r'value="([^"]+)"[^>]*name="nonce"', page
        )
        if not nonce:
            raise Failed("no token form on the Settings page")
        data = {"name": "container check", "nonce": nonce.group(1), "csrf_token": self.csrf("/settings")}
        r = self.http.post(self._url("/settings/tokens"), data=data, timeout=30)
        m = re.search(r'id="new-token"[^>]*value="([^"]+)"', r.text)
        if r.status_code != 200 or not m:
            raise Failed(f"creating an API token: {r.status_code} {r.text[:300]}")
        self.token = m.group(1)


def run(base: str, facedata: Path) -> dict[str, Any]:
    group = facedata / "groups" / "obama_biden"
    people = {
        "Barack Obama": sorted((group / "enroll" / "Barack_Obama").glob("*.jpg")),
        "Joe Biden": sorted((group / "enroll" / "Joe_Biden").glob("*.jpg")),
        "Adrien Brody": [facedata / "lfw" / "identities" / "Adrien_Brody" / f"Adrien_Brody_000{i}.jpg" for i in (1, 3)],
    }
    classroom = group / "class" / "obama_and_biden.jpg"
    for path in [classroom, *(p for ps in people.values() for p in ps)]:
        if not path.is_file():
            raise Failed(f"missing face photo {path}")

    t = Teacher(base)
    t.sign_up_and_in()
    where = t.post_form("/", "/courses", {"name": "Civics (container check)"})
    course = int(where.rstrip("/").rsplit("/", 1)[-1])
    students: dict[str, int] = {}
    for number, (name, photos) in enumerate(people.items(), start=1001):
        where = t.post_form(
            f"/courses/{course}", f"/courses/{course}/students", {"name": name, "student_number": str(number)}
        )
        sid = students[name] = int(where.rstrip("/").rsplit("/", 1)[-1])
        files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in photos]
        t.post_form(f"/students/{sid}", f"/students/{sid}/photos", {}, files=files, expect=303)
    t.create_token()

    def enrolled() -> bool:
        listed = t.api("GET", f"/api/v1/courses/{course}/students")
        rows = listed["students"] if isinstance(listed, dict) else listed
        return all(row["accepted_photos"] == len(people[row["name"]]) for row in rows) and len(rows) == 3

    _wait("the portraits to be enrolled", enrolled, 300, 2)

    with classroom.open("rb") as fh:
        created = t.api(
            "POST",
            f"/api/v1/courses/{course}/sessions",
            data={"date": "2026-11-24", "label": "Period 1"},
            files=[("photos", (classroom.name, fh, "image/jpeg"))],
        )
    job = created["job"]
    done = _wait(
        "the attendance job", lambda: (j := t.api("GET", f"/api/v1/jobs/{job['id']}")).get("done") and j, 300, 1
    )
    if done["state"] != "succeeded":
        raise Failed(f"the attendance job ended {done['state']}: {done}")
    session = t.api("GET", done["session_url"])
    got = {r["name"]: r["status"] for r in session["records"]}
    want = {"Barack Obama": "present", "Joe Biden": "present", "Adrien Brody": "absent"}
    if got != want:
        raise Failed(f"attendance {got}, expected {want}")
    return {"course": course, "session": session["id"], "records": got, "faces": session["faces"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("--facedata", type=Path, default=ROOT.parent / "shared" / "facedata")
    args = parser.parse_args(argv)
    try:
        result = run(args.base_url, args.facedata)
    except (Failed, requests.RequestException) as exc:
        print(f"drive_job: {exc}", file=sys.stderr)
        return 1
    print(f"drive_job: attendance read back through the proxy: {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
