#!/usr/bin/env bash
# The headless browser the dashboard test opens (tests/integration/test_scaling_out.py): Debian's
# chromium, installed only where it is missing (about 15 s, ~100 MB, from Debian's packages;
# pytest-ccci itself never needs it). Without root, it says what to run instead.
set -euo pipefail

say() { echo "setup-browser: $*"; }

if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  say "chromium is missing and installing it needs root: apt-get install chromium" >&2
  exit 1
fi
say "installing chromium (Debian package) for the dashboard's browser test"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
