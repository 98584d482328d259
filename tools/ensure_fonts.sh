#!/usr/bin/env bash
# The PDF exports' fonts, as the web image installs them: DejaVu Sans, and Droid Sans Fallback for CJK names.
set -euo pipefail
if [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && [ -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "installing Debian fonts-dejavu-core and fonts-droid-fallback"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core fonts-droid-fallback >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core fonts-droid-fallback >/dev/null
  }
else
  echo "PDF fonts are missing: install fonts-dejavu-core and fonts-droid-fallback (the PDF tests will fail)"
fi
