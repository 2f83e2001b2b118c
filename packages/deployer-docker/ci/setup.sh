#!/usr/bin/env bash
# CI setup for deployer-docker's real-engine tests. Run as root on Debian bookworm; idempotent.
#
# What it does (each step is skipped when already done):
#   1. installs Debian's docker.io and debootstrap (services are not started by the install);
#   2. builds a minimal bookworm root filesystem with python3 + python3-venv (debootstrap) and
#      caches it as a tarball: no image registry is reachable, so this is the base image;
#   3. starts a private dockerd (vfs storage, no iptables, no bridge, own data-root and socket),
#      imports the base image, proves a container runs on the host network, then stops the
#      daemon again unless --keep-running is given (the tests' session fixture starts it
#      itself and stops it by pid);
#   4. writes $STATE_DIR/env with DOCKER_HOST and the base image name for the tests.
#
# DEPLOYER_DOCKER_STORAGE_DRIVER overrides the storage driver (default vfs, which works
# everywhere; overlay2 is about five times faster where the kernel allows it).
#
# Layout (override the root with DEPLOYER_DOCKER_STATE):
#   $STATE_DIR/docker.sock  data/  exec/  dockerd.pid  dockerd.log  base-bookworm.tar  env
set -euo pipefail

STATE_DIR="${DEPLOYER_DOCKER_STATE:-/var/lib/deployer-docker}"
BASE_IMAGE="${DEPLOYER_DOCKER_BASE_IMAGE:-deployer-base:bookworm}"
STORAGE_DRIVER="${DEPLOYER_DOCKER_STORAGE_DRIVER:-vfs}"
SUITE="bookworm"
# Bump when the recipe of the base image changes: a new tarball and image are made.
RECIPE=2
KEEP_RUNNING=0
for arg in "$@"; do
  case "$arg" in
    --keep-running) KEEP_RUNNING=1 ;;
    *) echo "usage: $0 [--keep-running]" >&2; exit 2 ;;
  esac
done

SOCKET="$STATE_DIR/docker.sock"
PIDFILE="$STATE_DIR/dockerd.pid"
TARBALL="$STATE_DIR/base-$SUITE-r$RECIPE.tar"
export DOCKER_HOST="unix://$SOCKET"
START=$(date +%s)

step() { echo "[deployer-docker setup +$(( $(date +%s) - START ))s] $*"; }

if [ "$(id -u)" != 0 ]; then
  echo "deployer-docker setup: must run as root (dockerd and debootstrap need it)" >&2
  exit 1
fi
mkdir -p "$STATE_DIR"

# 1. Packages. policy-rc.d keeps the install from starting the system docker/containerd services:
#    the tests use their own daemon and must not depend on (or fight with) a system one.
need=()
for pkg in docker.io debootstrap; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ "$made_policy" = 1 ] && rm -f "$policy"
fi
DOCKERD="$(command -v dockerd)"
# Debian's client, not whatever else is first on PATH (it matches the engine's API version).
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER="$(command -v docker)"

# 2. Base root filesystem, cached as a tarball (debootstrap takes about a minute).
if [ ! -s "$TARBALL" ]; then
  mirror="$(sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\)\/\?[[:space:]]*$/\1/p' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)"
  if [ -z "$mirror" ]; then
    mirror="$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' \
      /etc/apt/sources.list 2>/dev/null || true)"
  fi
  mirror="${mirror:-http://deb.debian.org/debian}"
  step "debootstrap $SUITE from $mirror"
  rootfs="$(mktemp -d "$STATE_DIR/rootfs.XXXXXX")"
  debootstrap --variant=minbase --include=python3,python3-venv "$SUITE" "$rootfs" "$mirror" \
    >"$STATE_DIR/debootstrap.log" 2>&1 || {
    tail -n 30 "$STATE_DIR/debootstrap.log" >&2
    rm -rf "$rootfs"
    exit 1
  }
  # Smaller image (vfs copies the whole file system for every container and build step):
  # documentation, translations and package caches are not needed at run time.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
    "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
  # mktemp made the directory 0700; as the image's / that would lock out non-root users.
  chmod 0755 "$rootfs"
  tar -C "$rootfs" --numeric-owner -cf "$TARBALL.part" .
  mv "$TARBALL.part" "$TARBALL"
  rm -rf "$rootfs"
fi

# 3. Private daemon.
daemon_up() { "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; }
started=0
if ! daemon_up; then
  step "starting dockerd ($STORAGE_DRIVER storage) on $SOCKET"
  mkdir -p "$STATE_DIR/data" "$STATE_DIR/exec"
  rm -f "$SOCKET"
  setsid "$DOCKERD" \
    --host "unix://$SOCKET" \
    --data-root "$STATE_DIR/data" \
    --exec-root "$STATE_DIR/exec" \
    --pidfile "$PIDFILE" \
    --storage-driver="$STORAGE_DRIVER" --iptables=false --ip6tables=false --bridge=none \
    >"$STATE_DIR/dockerd.log" 2>&1 </dev/null &
  started=1
  for _ in $(seq 1 120); do
    daemon_up && break
    sleep 0.5
  done
  if ! daemon_up; then
    echo "deployer-docker setup: dockerd did not come up; its log:" >&2
    tail -n 40 "$STATE_DIR/dockerd.log" >&2
    exit 1
  fi
fi

stop_daemon() {
  if [ "$started" = 1 ] && [ "$KEEP_RUNNING" = 0 ] && [ -s "$PIDFILE" ]; then
    pid="$(cat "$PIDFILE")"
    step "stopping dockerd (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
}
trap stop_daemon EXIT

recipe_of() {
  "$DOCKER" image inspect --format '{{ index .Config.Labels "dev.deployer.base-recipe" }}' \
    "$BASE_IMAGE" 2>/dev/null || true
}
if [ "$(recipe_of)" != "$RECIPE" ]; then
  step "importing $BASE_IMAGE"
  "$DOCKER" import \
    --change "LABEL dev.deployer.base-recipe=$RECIPE" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    "$TARBALL" "$BASE_IMAGE" >/dev/null
fi

step "proving a container runs, as a non-root user, on the host network"
"$DOCKER" run --rm --network host --user 65534:65534 "$BASE_IMAGE" \
  python3 -c 'import sys, venv; print("container python", sys.version.split()[0])'

# 4. Where the tests find the engine and the base image.
cat >"$STATE_DIR/env" <<EOF
DOCKER_HOST=unix://$SOCKET
DEPLOYER_DOCKER_BASE_IMAGE=$BASE_IMAGE
DEPLOYER_DOCKER_STATE=$STATE_DIR
EOF
step "done: $(tr '\n' ' ' <"$STATE_DIR/env")"
