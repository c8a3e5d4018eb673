#!/bin/sh
# Make a Debian base image with no container registry: debootstrap a minbase
# root filesystem from a Debian mirror and `docker import` it.
#
#   sh docker/scripts/make_debian_base.sh TAG SUITE MIRROR PACKAGES WORKDIR
#
# PACKAGES is a comma list added to minbase. The rootfs lives in WORKDIR only
# while it is built and is removed afterwards, also on failure. Needs root
# (debootstrap creates device nodes and chroots).
set -eu

[ $# -eq 5 ] || { echo "usage: $0 TAG SUITE MIRROR PACKAGES WORKDIR" >&2; exit 2; }
tag=$1 suite=$2 mirror=$3 packages=$4 workdir=$5
rootfs=$workdir/rootfs

if [ "$(id -u)" != 0 ]; then
    echo "make_debian_base: debootstrap needs root (running as uid $(id -u)); run the bootstrap as root" >&2
    exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    echo "make_debian_base: installing debootstrap with apt-get"
    mkdir -p "$workdir"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap; } \
        >"$workdir/apt-get.log" 2>&1 || {
        tail -n 20 "$workdir/apt-get.log" >&2
        echo "make_debian_base: cannot install debootstrap; see $workdir/apt-get.log" >&2
        exit 1
    }
fi

# debootstrap mounts /proc and /sys inside the target; a crash can leave them
# mounted, and rm -rf must never walk into the host's /proc or /sys.
remove_rootfs() {
    [ -d "$rootfs" ] || return 0
    awk -v root="$rootfs" 'index($2, root "/") == 1 { print $2 }' /proc/mounts | sort -r |
        while IFS= read -r mount_point; do umount -l "$mount_point" || true; done
    rm -rf --one-file-system "$rootfs"
}
trap remove_rootfs EXIT
trap 'exit 130' INT TERM

remove_rootfs
mkdir -p "$workdir"

echo "make_debian_base: debootstrap --variant=minbase $suite from $mirror (+ $packages)"
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" \
    >"$workdir/debootstrap.log" 2>&1 || {
    echo "make_debian_base: debootstrap failed; last lines of $workdir/debootstrap.log:" >&2
    tail -n 20 "$workdir/debootstrap.log" >&2
    exit 1
}

# Keep the image small, and keep later apt installs in derived images small too.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/battle-slim" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
EOF
# As Debian's own container images do: no .deb or package cache survives an
# install, so a derived image's `apt-get install` layer holds only what it installed.
cat >"$rootfs/etc/apt/apt.conf.d/battle-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
find "$rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
# Docker provides these per container; the builder host's copies must not leak in.
: >"$rootfs/etc/resolv.conf"
: >"$rootfs/etc/hostname"

echo "make_debian_base: importing as $tag"
tar --numeric-owner -C "$rootfs" --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' -c . |
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["/bin/bash"]' \
        --message "debootstrap --variant=minbase $suite + $packages" \
        - "$tag" >/dev/null
