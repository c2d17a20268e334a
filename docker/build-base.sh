#!/usr/bin/env bash
# Build a local base image equivalent to python:3.11-slim from Debian packages alone, for
# machines that can reach a Debian mirror but no container registry:
#   debootstrap (minbase + python3, python3-venv, ca-certificates) -> docker import.
#
#   docker/build-base.sh [TAG]        (default TAG: stocky-base:bookworm-py311)
#
# Needs root, debootstrap and a running Docker engine. Skips the work when TAG exists
# (set FORCE=1 to rebuild). The mirror is the one apt already uses for the suite
# (read from `apt-cache policy`), or DEBIAN_MIRROR if set.
set -euo pipefail

TAG="${1:-stocky-base:bookworm-py311}"
SUITE="${DEBIAN_SUITE:-bookworm}"
PACKAGES="python3,python3-venv,ca-certificates"

log() { printf 'build-base: %s\n' "$*" >&2; }

if [[ "${FORCE:-0}" != 1 ]] && docker image inspect "$TAG" >/dev/null 2>&1; then
    log "$TAG exists, skipped (FORCE=1 rebuilds it)"
    exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
    log "debootstrap needs root: run as root, or build with BASE_IMAGE=python:3.11-slim instead"
    exit 1
fi
command -v debootstrap >/dev/null || { log "debootstrap is not installed (apt-get install debootstrap)"; exit 1; }

mirror="${DEBIAN_MIRROR:-}"
if [[ -z "$mirror" ]]; then
    # Lines like " 500 <uri> bookworm/main amd64 Packages": the archive apt uses for SUITE.
    mirror="$(apt-cache policy 2>/dev/null | awk -v s="$SUITE/main" '$3 == s && $2 ~ /^(https?|file):/ { print $2; exit }')"
fi
if [[ -z "$mirror" ]]; then
    log "no apt source for $SUITE/main found (run apt-get update, or set DEBIAN_MIRROR to a Debian mirror URL)"
    exit 1
fi

rootfs="$(mktemp -d "${TMPDIR:-/tmp}/stocky-rootfs.XXXXXX")"
trap 'rm -rf "$rootfs"' EXIT

log "debootstrap $SUITE (minbase + $PACKAGES) from $mirror"
start=$SECONDS
if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$mirror" \
    >"$rootfs.log" 2>&1; then
    tail -n 30 "$rootfs.log" >&2
    log "debootstrap failed (full log: $rootfs.log)"
    exit 1
fi
rm -f "$rootfs.log"

# What an image does not need: package indexes and caches, docs, man pages.
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
# debootstrap copies the host's resolver and hostname; Docker provides both at run time.
: >"$rootfs/etc/resolv.conf"
: >"$rootfs/etc/hostname"

log "importing as $TAG"
tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    --message "debootstrap $SUITE minbase + $PACKAGES" \
    - "$TAG" >/dev/null
docker run --rm "$TAG" python3 -c 'import ssl, sys, venv; print("build-base: python", sys.version.split()[0])' >&2
log "$TAG built in $((SECONDS - start)) s"
