#!/usr/bin/env bash
# Build the local images the realistic examples deploy, offline, from Debian's own packages:
#   ccci/postgres:15        PostgreSQL 15 with the official image's env interface
#   ccci/python-psycopg:3   Python 3 with psycopg, the runtime of the examples' apps
# One Debian root file system made by mmdebstrap from this host's configured apt sources,
# imported as both images. Cached by tag and by a hash of this script and images/: a machine
# builds them once (about a minute and a half here), and again only when the build changes.
# Like setup-engine.sh, this installs what it needs and says so; the plugin itself never builds
# or pulls images.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
say() { echo "build-images: $*"; }

PG_IMAGE=ccci/postgres:15
APP_IMAGE=ccci/python-psycopg:3
PACKAGES=postgresql-15,python3,python3-psycopg,ca-certificates

# The cache key is the build's own inputs: an image built by an older version of this script
# (or of the entrypoint) is rebuilt, one built by this version is kept.
build=$(cat "$0" "$here"/images/* | sha256sum | cut -c1-12)
missing=()
for image in "$PG_IMAGE" "$APP_IMAGE"; do
  have=$(docker image inspect --format '{{ index .Config.Labels "ccci.build" }}' "$image" 2>/dev/null || true)
  [ "$have" = "$build" ] || missing+=("$image")
done
if [ ${#missing[@]} -eq 0 ]; then
  say "ready: $PG_IMAGE and $APP_IMAGE present (cached)"
  exit 0
fi

if ! command -v mmdebstrap >/dev/null; then
  [ "$(id -u)" = 0 ] || { say "installing mmdebstrap needs root: apt-get install mmdebstrap" >&2; exit 1; }
  say "installing mmdebstrap (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
fi

# The host's own apt sources (deb822 or one-line), so the build reaches only what apt reaches.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [ -s "$f" ] && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || { say "no apt sources configured on this host" >&2; exit 1; }
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
say "building a Debian $suite root file system with $PACKAGES (missing: ${missing[*]})"
mmdebstrap --quiet --variant=apt --include="$PACKAGES" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook="copy-in $here/images/postgres-entrypoint.sh /usr/local/bin" \
  "$suite" "$work/rootfs.tar" "${sources[@]}"

label="LABEL ccci.build=$build"
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
docker import -c "$label" -c "ENV PATH=/usr/lib/postgresql/15/bin:$path" -c 'ENV PGDATA=/var/lib/postgresql/data' \
  -c 'ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]' \
  "$work/rootfs.tar" "$PG_IMAGE" >/dev/null
docker import -c "$label" -c "ENV PATH=$path" -c 'ENV PYTHONUNBUFFERED=1' -c 'CMD ["python3"]' \
  "$work/rootfs.tar" "$APP_IMAGE" >/dev/null
say "ready: built $PG_IMAGE and $APP_IMAGE in $(( $(date +%s) - start ))s"
