#!/usr/bin/env bash
# Headless Chromium and its WebDriver from Debian's packages, for the report's browser test
# (tests/test_report_browser.py), and a font for Chinese job names. Prints the two paths;
# installs what is missing (needs root).
#
#   scripts/chromium.sh      # -> /usr/bin/chromium /usr/bin/chromedriver
set -euo pipefail

die() { echo "chromium.sh: $*" >&2; exit 1; }
# The browser, its driver, and a font with Chinese characters: job names are often Chinese,
# and without one the screenshot shows empty boxes (a person's desktop has such a font).
browser() { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }
cjk_font() { fc-list :lang=zh 2>/dev/null | grep -q .; }

if ! browser || ! cjk_font; then
    if [[ $(id -u) == 0 ]]; then
        echo "chromium.sh: installing chromium, chromium-driver and fonts-wqy-microhei from Debian packages..." >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 || die "apt-get update failed."
        apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >&2 \
            || die "apt-get install chromium chromium-driver fonts-wqy-microhei failed."
        browser || die "installed, but chromium or chromedriver is not on PATH."
    elif ! browser; then
        die "Chromium is not installed and installing it needs root (apt-get install chromium chromium-driver fonts-wqy-microhei)."
    else
        echo "chromium.sh: no Chinese font (fonts-wqy-microhei): Chinese job names show as boxes." >&2
    fi
fi
echo "$(command -v chromium) $(command -v chromedriver)"
