#!/usr/bin/env bash
# Makes the base image docker/Dockerfile starts from, debian:bookworm-slim, out of Debian
# packages, for machines that reach a Debian mirror but no container registry. Elsewhere
# the real image is pulled and this script is not needed.
#
# Usage: docker/make-local-base.sh [ENGINE]    (ENGINE: podman (default) or docker; as root)
#   The mirror is the one this machine's apt sources use for bookworm, or
#   $ROT13_DEBIAN_MIRROR. An image that is already there is kept: the engine's storage is
#   the cache, so only the first run on a machine pays for debootstrap (about a minute).
#
# What it does: debootstrap --variant=minbase bookworm into a temporary directory; the same
# slimming as Debian's official slim image (no manuals, docs or translations, now or for
# packages installed later); the machine's apt sources for bookworm; then `ENGINE import`
# as docker.io/library/debian:bookworm-slim, so the Dockerfile builds unchanged.
set -euo pipefail
source "$(dirname "$0")/../scripts/common.sh"

engine=${1:-podman}
image=docker.io/library/debian:bookworm-slim
suite=bookworm

if "$engine" image inspect "$image" >/dev/null 2>&1; then
    log "base image $image is already there ($engine)"
    exit 0
fi
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
ensure_packages --no-recommends debootstrap

# The apt sources' entries for bookworm (and bookworm-updates, bookworm-security), in the
# one-line format, from deb822 files (*.sources) and classic ones (*.list).
apt_sources() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN { RS = ""; FS = "\n" }
             { delete field
               for (i = 1; i <= NF; i++) {
                   key = $i; sub(/:.*/, "", key); value = $i; sub(/^[^:]*:[ \t]*/, "", value)
                   field[key] = value }
               if (field["Types"] !~ /(^| )deb( |$)/) next
               signed = field["Signed-By"] == "" ? "" : " [signed-by=" field["Signed-By"] "]"
               n = split(field["Suites"], s, " "); m = split(field["URIs"], u, " ")
               for (j = 1; j <= n; j++) for (k = 1; k <= m; k++)
                   printf "deb%s %s %s %s\n", signed, u[k], s[j], field["Components"] }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] && grep -E '^deb ' "$f" || true
    done
}
sources=$(apt_sources | awk -v suite="$suite" '{ for (i = 2; i <= NF; i++) if ($i ~ "^" suite "(-updates|-security|/updates)?$") { print; next } }')
mirror=${ROT13_DEBIAN_MIRROR:-$(printf '%s\n' "$sources" | awk -v suite="$suite" \
    '{ for (i = 2; i <= NF; i++) if ($i == suite) { print $(i - 1); exit } }')}
[ -n "$mirror" ] || die "no apt source for $suite here: set ROT13_DEBIAN_MIRROR to a Debian mirror"
[ -n "$sources" ] || sources="deb $mirror $suite main"

rootfs=$(mktemp -d /var/tmp/rot13-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
log "debootstrap --variant=minbase $suite from $mirror"
start=$(date +%s)
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { tail -20 "$rootfs.log" >&2; rm -f "$rootfs.log"; die "debootstrap failed (last lines above)"; }
rm -f "$rootfs.log"

# Slim, as Debian's own bookworm-slim image: dpkg leaves manuals, documentation and
# translations out of every package installed later too (only the copyright files stay).
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Acquire::Languages "none";
EOF
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{man,info,groff,lintian,locale}/* \
       "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log \
       "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old
printf '%s\n' "$sources" >"$rootfs/etc/apt/sources.list"
rm -f "$rootfs"/etc/apt/sources.list.d/*
# The image's own name for itself; the container's hostname is set at run time.
: >"$rootfs/etc/hostname"

log "importing as $image ($engine)"
tar -C "$rootfs" -c . | "$engine" import --change 'CMD ["bash"]' - "$image" >"$rootfs.log" 2>&1 \
    || { cat "$rootfs.log" >&2; rm -f "$rootfs.log"; die "$engine import failed"; }
rm -f "$rootfs.log"
log "base image made in $(($(date +%s) - start)) s: $("$engine" image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
