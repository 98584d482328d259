""".ebextensions, Procfile and requirements.txt: what the Elastic Beanstalk platforms read."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from attendance_worker.engine.runtime import MALLOC_TUNABLES

from .conftest import CONTAINER_ONLY_VARS, ROOT

EBX = ROOT / ".ebextensions"


class _CfnLoader(yaml.SafeLoader):
    """YAML as Elastic Beanstalk reads it: CloudFormation short tags (!Ref ...) are allowed."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _configs() -> dict[str, Any]:
    files = sorted(EBX.glob("*.config"))
    assert files, "no .ebextensions/*.config"
    out = {}
    for path in files:
        doc = yaml.load(path.read_text(), Loader=_CfnLoader)
        assert isinstance(doc, dict), path.name
        assert set(doc) <= {"option_settings", "container_commands", "commands", "files", "Resources", "packages"}, (
            path.name
        )
        out[path.name] = doc
    return out


def _options() -> dict[tuple[str, str], Any]:
    merged: dict[tuple[str, str], Any] = {}
    for name, doc in _configs().items():
        for namespace, options in (doc.get("option_settings") or {}).items():
            for option, value in options.items():
                assert (namespace, option) not in merged, f"{namespace} {option} set twice ({name})"
                merged[(namespace, option)] = value
    return merged


def test_yaml_parses_and_names_main_app() -> None:
    configs = _configs()
    flask = configs["01_flask.config"]["option_settings"]
    assert flask["aws:elasticbeanstalk:container:python"]["WSGIPath"] == "main:app"
    assert flask["aws:elasticbeanstalk:application:environment"]["FLASK_ENV"] == "production"
    assert "main:app" in (EBX / "01_flask.config").read_text()


def test_health_logs_and_enhanced_health() -> None:
    o = _options()
    assert o[("aws:elasticbeanstalk:application", "Application Healthcheck URL")] == "/healthz/ready"
    assert o[("aws:elasticbeanstalk:environment:process:default", "HealthCheckPath")] == "/healthz/ready"
    assert o[("aws:elasticbeanstalk:healthreporting:system", "SystemType")] == "enhanced"
    assert o[("aws:elasticbeanstalk:cloudwatch:logs", "StreamLogs")] is True
    assert o[("aws:elasticbeanstalk:cloudwatch:logs:health", "HealthStreamingEnabled")] is True
    assert o[("aws:elasticbeanstalk:environment", "LoadBalancerType")] == "application"


def test_the_load_balancer_outwaits_nginx_and_gunicorn() -> None:
    nginx = (ROOT / "deploy/proxy/default.conf").read_text()
    nginx_read = int(re.search(r"proxy_read_timeout (\d+)s;", nginx).group(1))
    gunicorn = int(re.search(r"--timeout[ =](\d+)", (ROOT / "Procfile").read_text()).group(1))
    assert int(_options()[("aws:elbv2:loadbalancer", "IdleTimeout")]) > nginx_read > gunicorn


def test_https_listener_and_the_http_redirect_rule() -> None:
    resources = _configs()["04_https.config"]["Resources"]
    listener = resources["AttendanceHttpsListener"]["Properties"]
    assert listener["Port"] == 443 and listener["Protocol"] == "HTTPS"
    cert = listener["Certificates"][0]["CertificateArn"]["Fn::GetOptionSetting"]
    assert cert["OptionName"] == "HTTPS_CERTIFICATE_ARN"
    ingress = resources["AttendanceHttpsIngress"]  # the listener's port opened in EB's load balancer group
    assert ingress["Type"] == "AWS::EC2::SecurityGroupIngress"
    assert ingress["Properties"]["GroupId"] == {"Fn::GetAtt": ["AWSEBLoadBalancerSecurityGroup", "GroupId"]}
    assert ingress["Properties"]["FromPort"] == ingress["Properties"]["ToPort"] == listener["Port"]
    rule = resources["AttendanceHttpToHttpsRule"]
    assert rule["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
    assert rule["Properties"]["ListenerArn"] == {"Ref": "AWSEBV2LoadBalancerListener"}
    action = rule["Properties"]["Actions"][0]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"]["Protocol"] == "HTTPS" and action["RedirectConfig"]["StatusCode"] == "HTTP_301"


def test_environment_names_in_ebextensions_are_settings_or_platform_variables(settings_env_names: set[str]) -> None:
    env = {option for (namespace, option) in _options() if namespace == "aws:elasticbeanstalk:application:environment"}
    assert env <= settings_env_names | CONTAINER_ONLY_VARS


def test_python_platform_builds_models_and_migrates_on_the_leader() -> None:
    commands = _configs()["01_flask.config"]["container_commands"]
    text = "\n".join(c["command"] for c in commands.values())
    assert "attendance_model_export.build --out models/default" in text
    migrate = [c for c in commands.values() if "db upgrade" in c["command"]]
    assert migrate and migrate[0].get("leader_only") is True
    assert "flask --app main db upgrade" in migrate[0]["command"]
    assert "create_all" not in text


def test_procfile_is_the_guides_line_plus_the_worker() -> None:
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line and not line.startswith("#")
    )
    web = lines["web"].split()
    # The guide's line (gunicorn --bind 0.0.0.0:5000 --workers 3 main:app), with options added.
    assert web[:5] == ["gunicorn", "--bind", "0.0.0.0:5000", "--workers", "3"]
    assert web[-1] == "main:app"
    assert "celery -A attendance_worker.celery_app worker" in lines["worker"]
    assert f"env GLIBC_TUNABLES={MALLOC_TUNABLES} celery" in lines["worker"]  # read only at process start
    # The web first when the instance is short of CPU, as Dockerrun's cpu units give it on the Docker platform.
    assert lines["worker"].strip().startswith("sh -c 'exec nice -n 10 ")
    assert "celery -A attendance_worker.celery_app beat" in lines["beat"]


def test_procfile_worker_consumes_the_queues_the_web_publishes_to(tmp_path: Path) -> None:
    """With QUEUE_PREFIX set (a staging environment on the same Redis), the worker must listen on the prefixed
    queues: the shared config refuses to create missing ones, so unprefixed names would leave every job queued."""
    from attendance_shared.contracts import ALL_QUEUES
    from attendance_shared.queue import queue_name
    from attendance_shared.settings import Settings

    procfile = (ROOT / "Procfile").read_text().splitlines()
    worker = next(line.split(":", 1)[1] for line in procfile if line.startswith("worker:"))
    fake = tmp_path / "celery"  # a stand-in that prints the arguments it was given, one per line
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    fake.chmod(0o755)
    shown = subprocess.run(
        ["sh", "-c", worker],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin", "QUEUE_PREFIX": "staging-"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    queues = shown[shown.index("--queues") + 1].split(",")
    settings = Settings(QUEUE_PREFIX="staging-")
    assert sorted(queues) == sorted(queue_name(settings, q) for q in ALL_QUEUES)


def test_root_requirements_pin_through_the_lock() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "-r requirements/eb-python.lock"
    assert set(lines[1:]) == {
        "./services/shared",
        "./services/web",
        "./services/worker",
        "./services/worker/model_export",
    }
    for path in lines[1:]:
        assert (ROOT / path / "pyproject.toml").is_file()


@pytest.mark.parametrize("path", sorted(p.name for p in EBX.glob("*.config")))
def test_no_secrets_in_ebextensions(path: str) -> None:
    text = (EBX / path).read_text()
    assert not re.search(r"(SECRET_KEY|DATABASE_URL|AWS_SECRET_ACCESS_KEY)\s*:", text), path
    assert not re.search(r"arn:aws:acm:[a-z0-9-]+:\d{12}:", text), "no environment's certificate in the repo"


def test_files_exist() -> None:
    for name in ("Procfile", "requirements.txt", "Dockerrun.aws.json", ".ebextensions/01_flask.config"):
        assert Path(ROOT / name).is_file(), name


def _fake(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def test_the_queue_metric_cron_finds_the_worker_container_by_its_ecs_label(tmp_path: Path) -> None:
    """ECS names containers after the task family, which holds the environment's name (`ecs-awseb-...-worker-...`):
    `docker ps -f name=worker` matches any part of a name, and would pick the web container of an environment named
    e.g. `worker-pool`. The label ECS sets to the Dockerrun container's name matches the worker alone."""
    config = _configs()["06_queue_metric.config"]
    line = config["files"]["/etc/cron.d/attendance-queue-metric"]["content"].strip()
    assert line.startswith("* * * * * root ")
    command = line.removeprefix("* * * * * root ")
    calls = tmp_path / "calls"
    # A docker that answers `ps` with one container only for the worker's label, and records every call.
    _fake(
        tmp_path,
        "docker",
        f'echo "$*" >> {calls}\n'
        'if [ "$1" = ps ]; then case "$*" in\n'
        '  *"label=com.amazonaws.ecs.container-name=worker"*) echo c0ffee;;\n'
        "esac; fi\n",
    )
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    subprocess.run(["sh", "-c", command], env=env, check=True)
    ps, exec_ = calls.read_text().splitlines()
    assert ps.split() == ["ps", "-q", "--filter", "label=com.amazonaws.ecs.container-name=worker"]
    assert exec_ == "exec c0ffee attendance-queue-metric"
    # No worker container here (a web-only host): nothing is run, and cron sees success.
    _fake(tmp_path, "docker", f'echo "$*" >> {calls}\n')
    calls.unlink()
    subprocess.run(["sh", "-c", command], env=env, check=True)
    assert len(calls.read_text().splitlines()) == 1


def test_the_python_platform_publishes_the_queue_metric_from_the_procfile(tmp_path: Path) -> None:
    """EB's Python platform has no containers for the cron line, and Amazon Linux 2023 no cron daemon: the Procfile's
    `metric` process runs attendance-queue-metric once a minute, and keeps going when one run fails."""
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line and not line.startswith("#")
    )
    runs = tmp_path / "runs"
    _fake(tmp_path, "attendance-queue-metric", f"echo run >> {runs}\nexit 1\n")  # CloudWatch refused, say
    # `sleep 60` is recorded, and the third one stops the loop (its parent shell).
    _fake(tmp_path, "sleep", f'echo "sleep $*" >> {runs}\n[ $(grep -c sleep {runs}) -ge 3 ] && kill $PPID\nexit 0\n')
    done = subprocess.run(
        ["sh", "-c", procfile["metric"]], env={"PATH": f"{tmp_path}:/usr/bin:/bin"}, capture_output=True, timeout=30
    )
    assert done.returncode != 0  # ended by the test's kill, not by itself
    assert runs.read_text().splitlines() == ["run", "sleep 60"] * 3


# The Fedora packages (Amazon Linux 2023 follows Fedora) and the files of theirs the PDF exports look for.
PDF_FONT_PACKAGES = {
    "dejavu-sans-fonts": "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "google-droid-sans-fonts": "/usr/share/fonts/google-droid-sans-fonts/DroidSansFallbackFull.ttf",
}


def test_the_python_platform_installs_the_pdf_fonts_without_failing_a_deploy_for_them(tmp_path: Path) -> None:
    """EB's Python platform has neither DejaVu Sans nor Droid Sans Fallback (the web image has both): without them PDFs
    fall back to Helvetica and Chinese names print as '?'. 01_flask.config installs them, each on its own, and a
    package the release lacks is reported, not a failed deploy."""
    from attendance_web.reports import pdf_export

    command = _configs()["01_flask.config"]["commands"]["01_pdf_fonts"]["command"]
    candidates = {str(p) for p in (*pdf_export.FONT_CANDIDATES, *pdf_export.FALLBACK_FONT_CANDIDATES)}
    assert set(PDF_FONT_PACKAGES.values()) <= candidates, "the exports would not find the installed fonts"

    calls = tmp_path / "calls"
    _fake(tmp_path, "rpm", f'echo "rpm $*" >> {calls}\nexit 1\n')  # neither is installed yet
    _fake(tmp_path, "dnf", f'echo "dnf $*" >> {calls}\ncase "$*" in *droid*) exit 1;; esac\n')  # one is missing
    done = subprocess.run(
        ["sh", "-c", command], env={"PATH": f"{tmp_path}:/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert done.returncode == 0
    installs = [line.split()[-1] for line in calls.read_text().splitlines() if line.startswith("dnf install")]
    assert installs == list(PDF_FONT_PACKAGES)
    assert "google-droid-sans-fonts not installed" in done.stderr and "dejavu" not in done.stderr
    # Installed already (a later deploy): dnf is not run.
    calls.unlink()
    _fake(tmp_path, "rpm", f'echo "rpm $*" >> {calls}\n')
    subprocess.run(["sh", "-c", command], env={"PATH": f"{tmp_path}:/usr/bin:/bin"}, check=True)
    assert not [line for line in calls.read_text().splitlines() if line.startswith("dnf")]


def test_the_single_instance_procfile_is_the_procfile_for_one_small_instance() -> None:
    """deploy/single-instance/Procfile, the free tier on the Python platform: the same processes as the Procfile,
    with the web as one process of 8 threads and the beat inside the worker (eb_bundle.single_instance_procfile,
    the rule the Docker platform's single-instance bundle follows)."""
    from tools.deploy_checks import eb_bundle

    single = (ROOT / "deploy" / "single-instance" / "Procfile").read_text()
    assert single == eb_bundle.single_instance_procfile((ROOT / "Procfile").read_text()), (
        "regenerate it: python -c 'from tools.deploy_checks import eb_bundle; from pathlib import Path; "
        'print(eb_bundle.single_instance_procfile(Path("Procfile").read_text()), end="")\' > '
        "deploy/single-instance/Procfile"
    )
    lines = dict(line.split(":", 1) for line in single.splitlines())
    main = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines())
    assert set(lines) == set(main) - {"beat"}
    assert lines["web"].split()[3:7] == ["--workers", "1", "--threads", "8"]
    assert "worker --beat --schedule /tmp/celerybeat-schedule --queues" in lines["worker"]
    assert lines["metric"] == main["metric"]
