#!/usr/bin/env bash
# tests/deploy/test_nginx_proxy.py runs a real nginx with the Elastic Beanstalk proxy files (.platform/nginx).
# Installed from Debian's packages without starting the system's nginx (the test starts its own).
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then exit 0; fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "installing Debian nginx-light (not started)"
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1; fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null || true
  if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi
else
  echo "nginx is missing: install it (package nginx-light) to run the proxy tests (they will be skipped)"
fi
