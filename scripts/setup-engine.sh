#!/usr/bin/env bash
# Bring up what pytest-ccci runs against, only where it is missing:
#   a Docker engine (Debian's docker.io), a single-node swarm on 127.0.0.1, and the
#   local image `ccci/busybox:<version>` the offline examples deploy (no registry needed), also
#   tagged `ccci/probe:1`: the HTTP probe's helper image.
# The plugin itself never installs or reconfigures Docker; this script does, and says so.
set -euo pipefail

say() { echo "setup-engine: $*"; }
need_root() {
  if [ "$(id -u)" != 0 ]; then
    say "$1 needs root; run this script as root, or do it yourself: $2" >&2
    exit 1
  fi
}

apt_install() {
  need_root "installing $*" "apt-get install $*"
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  say "installing $* (Debian packages)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v git >/dev/null || apt_install git
if ! command -v dockerd >/dev/null; then apt_install docker.io; fi
dpkg -s busybox-static >/dev/null 2>&1 || apt_install busybox-static

if ! docker info >/dev/null 2>&1; then
  need_root "starting dockerd" "DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 dockerd &"
  # DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1: swarm's task executor otherwise asks the image's
  # registry at every task start, even for an image it has (Docker Hub for `ccci/busybox`: DNS
  # traffic a runner must not make). pytest-ccci pulls what is missing before a deploy
  # (ini ccci_pull), so tasks start from local images and never ask a registry.
  say "starting dockerd with DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1: tasks start from local images, the plugin pulls what is missing (log: /var/log/ccci-dockerd.log)"
  DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 nohup dockerd >/var/log/ccci-dockerd.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { say "dockerd did not come up; see /var/log/ccci-dockerd.log" >&2; exit 1; }
else
  # A dockerd this script did not start is left as it is; say so when it asks registries (above).
  for pid in $(command -v pgrep >/dev/null && pgrep -x dockerd); do
    if [ -r "/proc/$pid/environ" ] && ! tr '\0' '\n' <"/proc/$pid/environ" | grep -qx 'DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1'; then
      say "note: dockerd (pid $pid) runs without DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1: its swarm tasks ask their image's registry at every start (systemd: systemctl edit docker, then [Service] Environment=DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1)"
    fi
  done
fi

state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" != active ]; then
  say "initialising a single-node swarm on 127.0.0.1"
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
fi

# The examples' image: busybox-static (httpd, wget, sh) imported into an image, offline.
# (sed reads the whole banner: a `head` here would SIGPIPE busybox and trip pipefail)
version=$( (/bin/busybox || true) 2>&1 | sed -n '1s/^BusyBox v\([0-9.]*\).*/\1/p')
image="ccci/busybox:${version}"
if ! docker image inspect "$image" >/dev/null 2>&1; then
  say "building $image from /bin/busybox"
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
  tar -C "$root" -c . | docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - "$image" >/dev/null
fi
# The HTTP probe's helper image (pytest_ccci/swarm/helper.py) under a stable name, whatever the
# busybox version: the same image, found by the plugin as ccci/probe:1.
probe=ccci/probe:1
if [ "$(docker image inspect -f '{{.Id}}' "$probe" 2>/dev/null)" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
  say "tagging $image as $probe (the HTTP probe's helper image)"
  docker tag "$image" "$probe"
fi
say "ready: swarm active, images $image and $probe present"
