#!/bin/sh
# Print the Debian mirror this host's apt already uses for SUITE, so an
# air-gapped site debootstraps from the mirror it trusts rather than the internet.
#
#   sh docker/scripts/debian_mirror.sh [SUITE] [APT_ETC]
#
# Reads APT_ETC/sources.list, then sources.list.d/*.list and *.sources (deb822)
# in name order; the first enabled `deb` entry whose suite is exactly SUITE
# wins (so bookworm-security or bookworm-updates never stand in for the main
# archive). Falls back to http://deb.debian.org/debian.
set -eu

suite=${1:-bookworm}
apt_etc=${2:-/etc/apt}
fallback=http://deb.debian.org/debian

# One-line format: deb [options] URI SUITE COMPONENTS...
from_list() {
    awk -v suite="$suite" '
        $1 == "deb" {
            i = 2
            if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
            if ($(i + 1) == suite) { print $i; exit }
        }' "$1"
}

# deb822 format: blank-line separated stanzas of Key: value fields.
from_sources() {
    awk -v suite="$suite" '
        function flush(   u) {
            if (!found && types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no" && uris != "" &&
                (" " suites " ") ~ (" " suite " ")) {
                split(uris, u, /[ \t]+/); print u[1]; found = 1
            }
            types = ""; suites = ""; uris = ""; enabled = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        {
            key = tolower($0); sub(/:.*/, "", key)
            val = $0; sub(/^[^:]*:[ \t]*/, "", val); gsub(/[ \t]+/, " ", val)
            if (key == "types") types = val
            else if (key == "uris") uris = val
            else if (key == "suites") suites = val
            else if (key == "enabled") enabled = tolower(val)
        }
        END { flush() }' "$1"
}

usable() {
    case $1 in
        http://* | https://* | file:/*) return 0 ;;
        *) return 1 ;;
    esac
}

for f in "$apt_etc/sources.list" "$apt_etc"/sources.list.d/*.list "$apt_etc"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    case $f in
        *.sources) uri=$(from_sources "$f") ;;
        *) uri=$(from_list "$f") ;;
    esac
    if [ -n "$uri" ] && usable "$uri"; then
        printf '%s\n' "${uri%/}"
        exit 0
    fi
done
printf '%s\n' "$fallback"
