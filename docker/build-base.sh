#!/usr/bin/env bash
# Build a local base image like python:3.11-slim from Debian packages alone, for machines that
# reach a Debian mirror but no container registry:
#   debootstrap (minbase + python3, python3-venv, ca-certificates) -> docker import.
#
#   docker/build-base.sh [TAG]        (default TAG: stocky-base:$DEBIAN_SUITE-2)
#
# The suite is Debian 13 "trixie" (Python 3.13), the Debian release python:3.11-slim is built
# on: bookworm's python3 is 3.11.2, too old for requirements.lock (soupsieve 4.1.3 needs
# Python >= 3.11.5). DEBIAN_SUITE picks another suite.
#
# Needs root, debootstrap and a running Docker engine. Skips the work when TAG exists
# (FORCE=1 rebuilds it). The mirror is the Debian archive apt already uses (read from
# `apt-cache policy`), or DEBIAN_MIRROR if set.
set -euo pipefail

SUITE="${DEBIAN_SUITE:-trixie}"
TAG="${1:-stocky-base:$SUITE-2}"
# libgomp1: the OpenMP runtime LightGBM's wheel links against
PACKAGES="python3,python3-venv,ca-certificates,libgomp1"

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

# The Debian archive in apt's sources: a " 500 <uri> <codename>/main amd64 Packages" line
# whose next line says "o=Debian,...,l=Debian," (not -updates, -security or another vendor).
debian_archive() {
    apt-cache policy 2>/dev/null | awk '
        uri != "" && /o=Debian,/ && /l=Debian,/ { print uri; exit }
        { uri = "" }
        $2 ~ /^(https?|file):/ && $3 ~ /^[a-z]+\/main$/ { uri = $2 }'
}
mirror="${DEBIAN_MIRROR:-$(debian_archive)}"
if [[ -z "$mirror" ]] && command -v apt-get >/dev/null; then
    apt-get update -qq || true
    mirror="$(debian_archive)"
fi
if [[ -z "$mirror" ]]; then
    log "no Debian archive in apt's sources: set DEBIAN_MIRROR to a Debian mirror URL"
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
