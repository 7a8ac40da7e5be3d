#!/usr/bin/env bash
# Installs SpiceAccel as a systemd service on this host: publishes to /opt/spiceaccel, installs the units, the
# sysusers entry and example configurations (existing files in /etc/spiceaccel are kept). Run as root.
#   ./eng/install.sh            install both units (enable/start them yourself once configured)
#   PREFIX=/tmp/root ./eng/install.sh   install under another root (for packaging and tests)
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="${PREFIX:-}"
opt="$PREFIX/opt/spiceaccel"; etc="$PREFIX/etc/spiceaccel"; units="$PREFIX/etc/systemd/system"
sysusers="$PREFIX/usr/lib/sysusers.d"

dotnet publish src/Accel.Edge/Accel.Edge.csproj -c Release -o "$opt" -nologo -v:q
mkdir -p "$opt/docs" "$etc" "$units" "$sysusers"
cp README.md "$opt/docs/" ; [ -d docs ] && cp -r docs/. "$opt/docs/"
install -m 0644 systemd/spiceaccel-server.service systemd/spiceaccel-client.service "$units/"
install -m 0644 systemd/spiceaccel.sysusers.conf "$sysusers/spiceaccel.conf"
for f in server client; do
  [ -e "$etc/$f.json" ] || install -m 0640 "systemd/$f.example.json" "$etc/$f.json"
done

if [ -z "$PREFIX" ]; then
  if command -v systemd-sysusers >/dev/null; then systemd-sysusers; fi
  id spiceaccel >/dev/null 2>&1 || useradd --system --home-dir /var/lib/spiceaccel --shell /usr/sbin/nologin spiceaccel
  chgrp spiceaccel "$etc" "$etc"/*.json; chmod 0750 "$etc"
  if [ "$(systemctl is-system-running 2>/dev/null || true)" != "offline" ]; then systemctl daemon-reload; fi
fi
echo "installed to $opt; configure $etc/{server,client}.json (spiceaccel keygen --out $etc --name server|client),"
echo "then: systemctl enable --now spiceaccel-server   (or spiceaccel-client)"
