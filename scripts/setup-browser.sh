#!/usr/bin/env bash
# The headless browser the dashboard tests open (tests/integration/test_scaling_out.py, through
# Selenium): Debian's chromium and its WebDriver, chromium-driver (/usr/bin/chromedriver, built
# from the same source as chromium, so their versions match). Each is installed only where it is
# missing (about 20 s, ~110 MB, from Debian's packages; pytest-ccci itself never needs them).
# Nothing is downloaded at test time: the tests point Selenium at /usr/bin/chromedriver.
# Without root, it says what to run instead.
set -euo pipefail

say() { echo "setup-browser: $*"; }

missing=()
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  say "${missing[*]} missing and installing needs root: apt-get install ${missing[*]}" >&2
  exit 1
fi
say "installing ${missing[*]} (Debian packages) for the dashboard's browser tests"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
