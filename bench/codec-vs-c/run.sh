#!/usr/bin/env bash
# C (spice-common quic.c / lz.c, gcc -O2) against Spice.Codecs (C#) on the same images, one core, interleaved.
#
#   bench/codec-vs-c/run.sh SPICE_COMMON_DIR [vs-c options...]
#
# SPICE_COMMON_DIR is a spice-common source tree you provide (git clone of
# gitlab.freedesktop.org/spice/spice-common, any fork, or a release tarball): its common/quic.c, common/lz.c and
# common/log.c are compiled, with our shim cref.c, into a shared library in a scratch directory outside the
# repository. Nothing of spice-common is copied into the repository (LGPL: read, don't vendor), and none of this is
# part of the repository's build. Needs gcc, pkg-config, spice-protocol and glib headers (Debian:
# libspice-protocol-dev libglib2.0-dev), util-linux taskset and the .NET SDK.
#
# Environment: CPU (core to pin to, default the last one), OUT (scratch directory, default a mktemp directory),
# IMAGES (inputs, default the two committed Xspice desktop captures and two generated photo-like images).
# Extra arguments go to the .NET side (`vs-c`): --rounds N, --reps N, --clock cpu|wall, --warmup-ms MS, --codecs quic,lz,
# or --known-answers (prints the C streams' lengths and SHA-256 per QUIC input format: QuicDesktopKnownAnswerTests).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
sc=${1:?usage: run.sh SPICE_COMMON_DIR [vs-c options...]}
shift
sc=$(cd "$sc" && pwd)
[ -f "$sc/common/quic.c" ] || { echo "$sc/common/quic.c not found: not a spice-common tree" >&2; exit 2; }
for pkg in spice-protocol glib-2.0; do
    pkg-config --exists "$pkg" || { echo "pkg-config: $pkg missing (Debian: libspice-protocol-dev libglib2.0-dev)" >&2; exit 2; }
done
out=${OUT:-$(mktemp -d /tmp/codec-vs-c.XXXXXX)}
mkdir -p "$out"
cpu=${CPU:-$(($(nproc) - 1))}

# spice-common's own build generates config.h; these codecs need only this from it.
echo '#define ENABLE_EXTRA_CHECKS 0' >"$out/config.h"
gcc -O2 -fPIC -shared -w -I"$out" -I"$sc/common" -I"$sc" $(pkg-config --cflags spice-protocol glib-2.0) \
    "$here/cref.c" "$sc/common/quic.c" "$sc/common/lz.c" "$sc/common/log.c" \
    $(pkg-config --libs glib-2.0) -o "$out/libspicecref.so"

commit=$(git -C "$sc" rev-parse HEAD 2>/dev/null || echo "unknown (not a git checkout)")
dotnet build "$repo/bench/Spice.Codecs.Benchmarks" -c Release -v quiet -nologo >/dev/null
read -r -a images <<<"${IMAGES:-$here/images/desktop-terminals.ppm.gz $here/images/desktop-windows.ppm.gz gen:photo gen:plasma}"

echo "spice-common: $sc @ $commit; gcc $(gcc -dumpfullversion) -O2; .NET $(dotnet --version); core $cpu of $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg)"
taskset -c "$cpu" dotnet "$repo/bench/Spice.Codecs.Benchmarks/bin/Release/net10.0/Spice.Codecs.Benchmarks.dll" \
    vs-c --lib "$out/libspicecref.so" "$@" "${images[@]}"
