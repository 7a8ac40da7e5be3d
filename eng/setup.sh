#!/usr/bin/env bash
# Idempotent setup for a Debian 12 (bookworm) or 13 machine with the .NET SDK.
# Installs what SpiceAccel needs from Debian (ngtcp2 1.x from bookworm-backports on Debian 12),
# restores NuGet packages and builds the solution. Safe to run again: it skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Packages the product, its tests, the demo and the benchmarks use.
APT_PKGS=(
  libgnutls30 libturbojpeg0 libpixman-1-0
  xserver-xspice xserver-xorg-core spice-client-gtk virt-viewer
  xterm x11-apps x11-utils xdotool xvfb libx11-6 libxtst6 gnuplot-nox
  kcptun iproute2 nftables procps psmisc curl
  tinyproxy  # a real HTTP CONNECT proxy as the server edge's upstream (Proxmox spiceproxy stand-in) in the tests
  gcc libc6-dev pkg-config libgnutls28-dev
  libglib2.0-dev libspice-protocol-dev  # bench/codec-vs-c compiles spice-common's C codecs for the comparison
  afl++  # eng/fuzz.sh: coverage-guided fuzzing of the parsers and decoders (SharpFuzz instruments, AFL++ drives)
)
# ngtcp2 1.x: backports on bookworm, the main suite on trixie and later.
NGTCP2_PKGS=(libngtcp2-16 libngtcp2-crypto-gnutls8 libngtcp2-dev libngtcp2-crypto-gnutls-dev)

missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

add_backports() {
  # Derive the mirror from the machine's existing Debian source; never hard-code a host.
  [ "$codename" = "bookworm" ] || return 0
  if grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then return 0; fi
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
  fi
  if [ -z "$uri" ]; then
    log "cannot find the machine's Debian mirror to add bookworm-backports"; exit 1
  fi
  log "adding bookworm-backports from $uri"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
    | as_root tee /etc/apt/sources.list.d/spiceaccel-backports.sources >/dev/null
  APT_UPDATED=0
}

APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
}

need=$(missing "${APT_PKGS[@]}" "${NGTCP2_PKGS[@]}")
if [ -n "$need" ]; then
  add_backports
  apt_update_once
  export DEBIAN_FRONTEND=noninteractive
  base=$(missing "${APT_PKGS[@]}")
  if [ -n "$base" ]; then
    log "installing: $(echo $base)"
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $base >/dev/null
  fi
  ng=$(missing "${NGTCP2_PKGS[@]}")
  if [ -n "$ng" ]; then
    log "installing: $(echo $ng)"
    target=()
    [ "$codename" = "bookworm" ] && target=(-t bookworm-backports)
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${target[@]}" $ng >/dev/null
  fi
else
  log "Debian packages present"
fi

if [ "${SPICEACCEL_SKIP_BUILD:-0}" != "1" ]; then
  log "dotnet restore + build (Release)"
  dotnet build SpiceAccel.sln -c Release -nologo -clp:ErrorsOnly -v:q
fi
