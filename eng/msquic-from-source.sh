#!/usr/bin/env bash
# Builds libmsquic from a source tree you provide, for hosts without Microsoft's libmsquic package (Debian does not
# package it), then prints how to point SpiceAccel at it. Nothing is downloaded and nothing is installed.
#
#   eng/msquic-from-source.sh SRC_DIR [OUT_DIR]
#
# SRC_DIR  an msquic checkout (a v2.x release tag) whose submodules/quictls holds the quictls sources msquic pins
#          (git -C SRC_DIR submodule update --init submodules/quictls). quictls provides only the TLS part;
#          the library links the system's libcrypto (Debian: libssl-dev; QUIC_USE_SYSTEM_LIBCRYPTO=ON).
# OUT_DIR  the build directory (default: ./msquic-build); libmsquic.so.2 ends up in OUT_DIR/bin/Release.
#
# Environment: JOBS (parallel jobs, default 2), NICE (niceness, default 10), EXTRA_CMAKE_ARGS (appended).
# docs/msquic.md records the commits this was verified with and the test counts on the result.
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 1 && $# -le 2 && "$1" != -h && "$1" != --help ]] || usage

src=$(realpath "$1")
out=$(realpath -m "${2:-msquic-build}")
jobs=${JOBS:-2}
niceness=${NICE:-10}

fail() { echo "msquic-from-source: $*" >&2; exit 1; }

[[ -f "$src/CMakeLists.txt" && -f "$src/src/inc/msquic.h" ]] || fail "$src is not an msquic source tree (no CMakeLists.txt / src/inc/msquic.h)"
[[ -x "$src/submodules/quictls/Configure" || -f "$src/submodules/quictls/Configure" ]] ||
  fail "$src/submodules/quictls is empty: fetch the quictls commit msquic pins (git -C $src submodule update --init submodules/quictls)"
[[ -f "$src/submodules/quictls/fuzz/build.info" ]] || fail "$src/submodules/quictls/fuzz is missing: OpenSSL's Configure reads it even with no-tests"

missing=()
for tool in cmake make perl cc c++; do command -v "$tool" > /dev/null || missing+=("$tool"); done
[[ -f /usr/include/openssl/crypto.h ]] || missing+=("openssl headers")
[[ ${#missing[@]} -eq 0 ]] || fail "missing: ${missing[*]} (Debian: apt-get install cmake build-essential perl libssl-dev)"

echo "== configuring $src into $out"
# Release, no logging/tools/tests/perf; quictls for the TLS part with the system libcrypto; no git hash (the tree
# may be an export without .git).
nice -n "$niceness" cmake -S "$src" -B "$out" \
  -DCMAKE_BUILD_TYPE=Release \
  -DQUIC_TLS_LIB=quictls -DQUIC_USE_SYSTEM_LIBCRYPTO=ON \
  -DQUIC_BUILD_TOOLS=OFF -DQUIC_BUILD_TEST=OFF -DQUIC_BUILD_PERF=OFF \
  -DQUIC_ENABLE_LOGGING=OFF -DQUIC_EMBED_GIT_HASH=OFF \
  ${EXTRA_CMAKE_ARGS:-}

echo "== building with $jobs jobs at nice $niceness (OpenSSL's own make also runs in parallel)"
nice -n "$niceness" cmake --build "$out" -j "$jobs"

lib="$out/bin/Release/libmsquic.so.2"
[[ -e "$lib" ]] || fail "the build finished but $lib is not there"
dir=$(dirname "$(realpath "$lib")")
echo
echo "Built $(realpath "$lib") (links: $(ldd "$lib" | awk '/libcrypto/ {print $1 " => " $3}'))."
cat <<EOF

Point SpiceAccel at it with the environment variable SPICEACCEL_MSQUIC_DIR (the edges, 'spiceaccel version' and
the MsQuic conformance tests all read it):

  SPICEACCEL_MSQUIC_DIR=$dir spiceaccel version        # "engine msquic: ..., libmsquic 2.x.y at $dir/..."
  SPICEACCEL_MSQUIC_DIR=$dir dotnet test tests/Accel.Core.Tests -c Release --filter "FullyQualifiedName~MsQuic"

For an edge under systemd (Transport:Engine auto or msquic):

  systemctl edit spiceaccel-server      # or spiceaccel-client; add:
  [Service]
  Environment=SPICEACCEL_MSQUIC_DIR=$dir

The directory must be readable by the edge's user (spiceaccel). A directory named there that does not hold a loadable
libmsquic.so.2 makes the msquic engine unavailable with that reason (auto then takes ngtcp2).
EOF
