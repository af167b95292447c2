#!/usr/bin/env bash
# Make a container registry binary available to the image-pull tests
# (tests/integration/test_image_pulls.py), which start it themselves on 127.0.0.1:<free port>
# with a config of their own and stop it afterwards.
#
# The binary ends up at .ccci/tools/docker-registry (gitignored): a link to `docker-registry`
# when one is on PATH, else the binary alone, extracted from Debian's `docker-registry` package
# with `apt-get download` + `dpkg-deb -x`. The package is never INSTALLED: on a Debian box with
# systemd, installing it starts a registry on :5000 on every interface, which nothing here wants.
# Cached: when the binary at that path runs, this script does nothing.
set -euo pipefail

say() { echo "setup-registry: $*"; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/.ccci/tools"
target="$tools/docker-registry"

works() { [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

if works "$target"; then
  say "ready: $target ($("$target" --version | awk '{print $NF}'), cached)"
  exit 0
fi
mkdir -p "$tools"
rm -f "$target"  # a dangling link (the binary it named was removed) or a broken copy

on_path=$(command -v docker-registry || true)
if [ -n "$on_path" ] && works "$on_path"; then
  say "using $on_path (on PATH), linked as $target"
  ln -s "$on_path" "$target"
else
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || {
    say "no docker-registry on PATH and no apt-get/dpkg-deb to fetch Debian's; put a registry binary (distribution 2.x) at $target" >&2
    exit 1
  }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  chown _apt "$work" 2>/dev/null || true  # as root, apt downloads as its sandbox user _apt
  fetch() { (cd "$work" && apt-get download -qq docker-registry) >"$work/apt.log" 2>&1; }
  say "downloading Debian's docker-registry package (extracted only, never installed: no service is started)"
  if ! fetch; then
    if [ "$(id -u)" = 0 ]; then
      say "apt's package lists may be stale: apt-get update"
      apt-get update -qq
      fetch || { cat "$work/apt.log" >&2; say "apt-get download docker-registry failed (above)" >&2; exit 1; }
    else
      cat "$work/apt.log" >&2
      say "apt-get download docker-registry failed (above); as root, run apt-get update first" >&2
      exit 1
    fi
  fi
  dpkg-deb -x "$work"/docker-registry_*.deb "$work/root"
  install -m 0755 "$work/root/usr/bin/docker-registry" "$target"
fi
works "$target" || { say "$target does not run: $("$target" --version 2>&1 | head -3)" >&2; exit 1; }
say "ready: $target ($("$target" --version | awk '{print $NF}'))"
