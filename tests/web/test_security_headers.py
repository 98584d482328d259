"""Headers every response carries: pupils' data is never kept in a cache (issue 18)."""

from __future__ import annotations

from tests.factories import seed_session


def test_pages_with_pupils_data_are_not_stored(app, teacher):
    seeded = seed_session(app, teacher)
    c = teacher.client
    for path in (
        "/",
        f"/courses/{seeded.course_id}",
        f"/sessions/{seeded.session_id}",
        f"/reports/courses/{seeded.course_id}",
    ):
        r = c.get(path)
        assert r.status_code == 200, path
        assert r.headers["Cache-Control"] == "no-store", path
    export = c.get(f"/reports/courses/{seeded.course_id}/export?format=csv")
    assert "no-store" in export.headers["Cache-Control"]


def test_photos_and_static_files_keep_their_own_caching(app, teacher):
    seeded = seed_session(app, teacher)
    photo = teacher.client.get(f"/session-photos/{seeded.photo_id}/view")
    assert photo.status_code == 200 and photo.headers["Cache-Control"].startswith("private")
    css = teacher.client.get("/static/style.css")
    assert css.status_code == 200 and css.headers.get("Cache-Control") != "no-store"
