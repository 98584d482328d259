"""Reading OneRoster 1.2 CSV file sets: the whole set refused in words, or each bad row skipped with a reason."""

from __future__ import annotations

import io
import zipfile

import pytest

from attendance_web.oneroster.bundle import build_roster_set
from attendance_web.oneroster.reader import read_file_set
from attendance_web.oneroster.spec import Role
from attendance_web.roster.problems import ImportRefused
from tests.oneroster_files import COLUMNS, school_set


def read(data: bytes):
    return build_roster_set(read_file_set(data))


def test_a_clean_bulk_set_gives_the_class_its_teacher_and_students():
    roster = read(school_set(students=3).to_zip())
    assert roster.refused == []
    assert roster.version == "1.2" and roster.source == "Test SIS"
    assert roster.classes["class-1"].title == "Biology 7B"
    assert [p.sourced_id for p in roster.people_with(Role.TEACHER)] == ["t-1"]
    assert {e.user_id for e in roster.members("class-1", Role.STUDENT)} == {"s-1", "s-2", "s-3"}
    assert roster.people["s-2"].identifier == "S2002"


def test_files_inside_a_folder_of_the_zip_are_found():
    flat = school_set().to_zip()
    nested = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(flat)) as src, zipfile.ZipFile(nested, "w") as dst:
        for info in src.infolist():
            dst.writestr(f"export-2026-12-01/{info.filename}", src.read(info))
    assert read(nested.getvalue()).refused == []


def test_users_csv_in_the_older_shape_with_a_role_column_is_read():
    roster = school_set()
    roster.headers["users.csv"] = (*COLUMNS["users.csv"], "role", "orgSourcedIds")
    roster.absent.add("roles.csv")
    for row in roster.rows["users.csv"]:
        row["role"] = "teacher" if row["sourcedId"].startswith("t-") else "student"
    result = read(roster.to_zip())
    assert [p.sourced_id for p in result.people_with(Role.TEACHER)] == ["t-1"]


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda s: s.headers.update({"users.csv": tuple(c for c in COLUMNS["users.csv"] if c != "givenName")}),
         "users.csv has no column “givenName”"),
        (lambda s: s.headers.update({"classes.csv": tuple(c if c != "classType" else "ClassType"
                                                          for c in COLUMNS["classes.csv"])}),
         "“ClassType” should be written “classType”"),
        (lambda s: s.absent.add("enrollments.csv"), "The file set has no enrollments.csv"),
    ],
)  # fmt: skip
def test_wrong_headers_refuse_the_set_with_the_column_named(damage, words):
    roster = school_set()
    damage(roster)
    with pytest.raises(ImportRefused, match=words):
        read_file_set(roster.to_zip())


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"not a zip", "not a ZIP file"),
    ],
)
def test_what_is_not_a_file_set_is_refused_in_words(data, words):
    with pytest.raises(ImportRefused, match=words):
        read_file_set(data)


def test_a_zip_without_manifest_or_with_another_version_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("users.csv", "sourcedId\n")
    with pytest.raises(ImportRefused, match=r"no manifest\.csv"):
        read_file_set(out.getvalue())
    roster = school_set()
    data = roster.to_zip()
    patched = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(patched, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "manifest.csv":
                body = body.replace(b"oneroster.version,1.2", b"oneroster.version,1.0")
            dst.writestr(info.filename, body)
    with pytest.raises(ImportRefused, match=r"version “1\.0”"):
        read_file_set(patched.getvalue())


def test_not_utf8_is_refused_with_what_to_do():
    roster = school_set()
    bad = roster.to_zip()
    patched = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bad)) as src, zipfile.ZipFile(patched, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "users.csv":
                body = body.replace(b"Jordan", "Jördan".encode("cp1252"))
            dst.writestr(info.filename, body)
    with pytest.raises(ImportRefused, match=r"users\.csv is not UTF-8"):
        read_file_set(patched.getvalue())


def test_unknown_references_and_duplicates_skip_only_their_rows_with_reasons():
    roster = school_set(students=2)
    roster.add(
        "enrollments.csv", sourcedId="e-ghost", classSourcedId="class-404", schoolSourcedId="org-1",
        userSourcedId="s-1", role="student",
    )  # fmt: skip
    roster.add(
        "enrollments.csv", sourcedId="e-nobody", classSourcedId="class-1", schoolSourcedId="org-1",
        userSourcedId="s-404", role="student",
    )  # fmt: skip
    roster.add("users.csv", sourcedId="s-1", enabledUser="true", username="dup", givenName="Dup", familyName="Row")
    roster.add(
        "classes.csv", sourcedId="class-2", title="Art", courseSourcedId="course-9", classType="scheduled",
        schoolSourcedId="org-1", termSourcedIds="term-1",
    )  # fmt: skip
    roster.add("users.csv", sourcedId="s-9", enabledUser="yes", username="x", givenName="X", familyName="Y")
    result = read(roster.to_zip())
    reasons = [str(r) for r in result.refused]
    assert any("enrollments.csv" in r and "class “class-404” is not in classes.csv" in r for r in reasons)
    assert any("enrollments.csv" in r and "user “s-404” is not in users.csv" in r for r in reasons)
    assert any("users.csv" in r and "already on line 3" in r for r in reasons), reasons
    assert any("classes.csv" in r and "course “course-9” is not in courses.csv" in r for r in reasons)
    assert any("enabledUser must be true or false" in r for r in reasons)
    assert result.people["s-1"].given_name == "Avery1"  # the first row wins
    assert {e.user_id for e in result.members("class-1", Role.STUDENT)} == {"s-1", "s-2"}


def test_a_row_with_a_missing_required_cell_or_broken_quoting_is_skipped():
    roster = school_set(students=1)
    roster.add("users.csv", sourcedId="s-7", enabledUser="true", username="x", givenName="", familyName="Y")
    data = roster.to_zip()
    patched = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(patched, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "orgs.csv":
                body += b"org-9,,,Too,many,cells,here,and,more\r\n"
            dst.writestr(info.filename, body)
    reasons = [str(r) for r in read(patched.getvalue()).refused]
    assert any("users.csv" in r and "givenName is empty" in r for r in reasons), reasons
    assert any("orgs.csv" in r and "has 9 cells where the header has 7" in r for r in reasons), reasons


def test_a_delta_removes_enrollments_and_leaves_references_to_the_plan():
    delta = school_set(students=0, delta=True)
    delta.rows = {name: [] for name in COLUMNS}
    stamp = {"dateLastModified": "2026-12-02T08:00:00Z"}
    delta.add("orgs.csv", sourcedId="org-1", status="active", name="Lincoln Middle", type="school", **stamp)
    delta.add(
        "enrollments.csv", sourcedId="e-s-2", status="tobedeleted", classSourcedId="class-1",
        schoolSourcedId="org-1", userSourcedId="s-2", role="student", **stamp,
    )  # fmt: skip
    delta.add(
        "enrollments.csv", sourcedId="e-s-3", status="", classSourcedId="class-1",
        schoolSourcedId="org-1", userSourcedId="s-3", role="student", **stamp,
    )  # fmt: skip
    result = read(delta.to_zip())
    assert [e.sourced_id for e in result.removals()] == ["e-s-2"]
    assert [str(r) for r in result.refused] == [
        "enrollments.csv, line 3 (sourcedId “e-s-3”): a delta file needs status “active” or “tobedeleted”, not “”."
    ]


def test_other_roles_are_set_aside_with_a_note():
    roster = school_set(students=1)
    roster.add("users.csv", sourcedId="g-1", enabledUser="true", username="g", givenName="Pat", familyName="Smith")
    roster.add(
        "enrollments.csv", sourcedId="e-g-1", classSourcedId="class-1", schoolSourcedId="org-1",
        userSourcedId="g-1", role="aide",
    )  # fmt: skip
    result = read(roster.to_zip())
    assert result.refused == []
    assert result.notes == [
        "1 enrollment with the role “aide” set aside: attendance imports teachers and students only."
    ]


def test_ten_thousand_users_are_read():
    roster = school_set(students=10_000)
    result = read(roster.to_zip())
    assert result.refused == []
    assert len(result.people_with(Role.STUDENT)) == 10_000
    assert len(result.members("class-1", Role.STUDENT)) == 10_000


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.csv", "propertyName,value\n")
        archive.writestr("users.csv", b"0" * (50 * 1024 * 1024))
    with pytest.raises(ImportRefused, match="ZIP bomb"):
        read_file_set(out.getvalue())


def test_cells_the_database_cannot_keep_or_that_are_not_one_address_are_refused():
    roster = school_set(students=1)
    roster.add("users.csv", sourcedId="s-mail", enabledUser="true", username="m", givenName="M", familyName="N",
               email="a@x.org, b@y.org")  # fmt: skip
    roster.add("users.csv", sourcedId="s-crlf", enabledUser="true", username="c", givenName="C", familyName="D",
               email="c@x.org\r\nBcc: e@y.org")  # fmt: skip
    roster.add("users.csv", sourcedId="s-long", enabledUser="true", username="l", givenName="L" * 100,
               familyName="M" * 30)  # fmt: skip
    roster.add("users.csv", sourcedId="x" * 300, enabledUser="true", username="x", givenName="X", familyName="Y")
    reasons = [str(r) for r in read(roster.to_zip()).refused]
    assert sum("is not one e-mail address" in r for r in reasons) == 2, reasons
    assert any("the name is longer than 120 characters" in r for r in reasons), reasons
    assert any("sourcedId is longer than 255 characters" in r for r in reasons), reasons
