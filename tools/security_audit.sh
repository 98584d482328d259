#!/usr/bin/env bash
# bandit on the services (any medium or high finding fails), then pip-audit on every lock file.
# pip-audit needs the PyPI/OSV vulnerability service; where this machine cannot reach it, every
# package comes back "could not be audited": that is reported loudly, and the pins are then checked
# against PyPI's project endpoint instead (below), which covers each project's latest release.
set -uo pipefail
BIN=${BIN:-.venv/bin}

echo "bandit: services/ (fails on medium or high severity)"
"$BIN/bandit" -q -r services --severity-level medium --confidence-level medium || exit 1

status=0
unaudited=0
for lock in requirements/*.lock; do
  out=$(timeout 300 "$BIN/pip-audit" -r "$lock" --disable-pip --no-deps --progress-spinner off 2>&1)
  code=$?
  total=$(grep -cE '^[A-Za-z0-9_.-]+==' "$lock")
  skipped=$(grep -c "could not be audited" <<<"$out")
  if [ "$code" -ne 0 ] && ! grep -q "could not be audited" <<<"$out"; then
    echo "pip-audit: $lock has known vulnerabilities or failed:"; echo "$out"; status=1
  elif [ "$code" -ne 0 ]; then
    echo "pip-audit: $lock has known vulnerabilities:"; grep -v "could not be audited" <<<"$out"; status=1
  elif [ "$skipped" -gt 0 ]; then
    echo "pip-audit: WARNING $lock: $skipped of $total packages could not be audited (vulnerability service unreachable from this machine)"
    unaudited=1
  else
    echo "pip-audit: $lock: no known vulnerabilities in $total packages"
  fi
done
# Where pip-audit could not ask (its per-release endpoint and OSV unreachable), PyPI's project endpoint still
# lists the known vulnerabilities of each project's latest release: every pin that is the latest is audited
# that way, and an advisory fails the check like a pip-audit finding (tools/pypi_advisories.py).
if [ "$unaudited" -ne 0 ]; then
  "$BIN/python" tools/pypi_advisories.py requirements/*.lock || status=1
fi
exit $status
