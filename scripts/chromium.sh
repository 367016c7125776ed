#!/usr/bin/env bash
# Headless Chromium and its WebDriver from Debian's packages, for the report's browser test
# (tests/test_report_browser.py). Prints the two paths; installs them when missing (needs root).
#
#   scripts/chromium.sh      # -> /usr/bin/chromium /usr/bin/chromedriver
set -euo pipefail

die() { echo "chromium.sh: $*" >&2; exit 1; }
found() { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }

if ! found; then
    [[ $(id -u) == 0 ]] || die "Chromium is not installed and installing it needs root (apt-get install chromium chromium-driver)."
    echo "chromium.sh: installing chromium and chromium-driver from Debian packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || die "apt-get update failed."
    apt-get install -y -qq chromium chromium-driver >&2 || die "apt-get install chromium chromium-driver failed."
    found || die "chromium installed, but chromium or chromedriver is not on PATH."
fi
echo "$(command -v chromium) $(command -v chromedriver)"
