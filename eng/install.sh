#!/usr/bin/env bash
# Installs SpiceAccel on this host as the Debian package does everywhere: builds dist/spiceaccel_*.deb with
# eng/package.sh (needs the .NET SDK, here only) and installs it with apt-get, which pulls in the libraries it
# depends on. Run as root. To install on other hosts, copy the .deb there and run `apt-get install ./spiceaccel_*.deb`.
set -euo pipefail
cd "$(dirname "$0")/.."

deb="$(./eng/package.sh | tail -n 1)"
apt-get install -y "./$deb"
echo "installed $deb; configure /etc/spiceaccel/{server,client}.json (spiceaccel keygen --out /etc/spiceaccel --name server|client),"
echo "check it (spiceaccel check --config /etc/spiceaccel/server.json), then: systemctl enable --now spiceaccel-server   (or spiceaccel-client)"
