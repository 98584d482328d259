"""docs/deploy-aws.md: the least-privilege policy, the settings and the migration command it documents."""

from __future__ import annotations

import json
import re

from .conftest import ROOT

DOC = ROOT / "docs" / "deploy-aws.md"


def _json_blocks(text: str) -> list[dict]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, flags=re.S)]


def test_the_iam_policy_is_least_privilege() -> None:
    policies = [b for b in _json_blocks(DOC.read_text()) if "Statement" in b]
    assert len(policies) == 1, "exactly one IAM policy in the doc"
    actions: set[str] = set()
    resources: set[str] = set()
    for statement in policies[0]["Statement"]:
        assert statement["Effect"] == "Allow"
        acts = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        res = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        actions.update(acts)
        resources.update(res)
        for a in acts:
            assert "*" not in a
        if "s3:ListBucket" in acts:
            assert all(not r.endswith("/*") for r in res), "ListBucket applies to the bucket ARN"
        else:
            assert all(r.endswith("/*") for r in res), "object actions apply to bucket/*"
    assert actions == {"s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:ListBucket"}
    buckets = {r.removesuffix("/*") for r in resources}
    assert len(buckets) == 1 and next(iter(buckets)).startswith("arn:aws:s3:::student-attendance-images-")


def test_every_setting_is_documented(settings_env_names: set[str]) -> None:
    text = DOC.read_text()
    missing = sorted(name for name in settings_env_names if f"`{name}`" not in text)
    assert not missing, f"docs/deploy-aws.md does not mention {missing}"


def test_migrations_not_create_all() -> None:
    text = DOC.read_text()
    assert "flask --app main db upgrade" in text
    for line in text.splitlines():
        if "create_all" in line:
            assert re.search(r"never|not|instead", line, flags=re.I), f"create_all is recommended: {line}"


def test_the_guides_topics_are_covered() -> None:
    text = DOC.read_text().lower()
    for topic in (
        "rds",
        "s3",
        "student_photos/",
        "classroom_photos/",
        "temp/",
        "iam",
        "environment properties",
        "migrations",
        "gpu",
        "queue-depth",
        "backups",
        "restore",
        "cost",
        "https",
        "cloudwatch",
    ):
        assert topic in text, topic
