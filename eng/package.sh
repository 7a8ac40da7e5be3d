#!/usr/bin/env bash
# Builds the Debian package: dist/spiceaccel_<version>_<arch>.deb, with dpkg-deb (no debhelper needed).
#   ./eng/package.sh                      version from src/Accel.Edge/Accel.Edge.csproj, into ./dist
#   VERSION=1.2.3 OUT=/tmp/pkgs ./eng/package.sh
# The package holds a self-contained build (no .NET on the target host) in /usr/lib/spiceaccel, /usr/bin/spiceaccel,
# both systemd units, the sysusers entry, bash completion, the example configurations and the docs. It depends on the Debian libraries
# the edges load (ngtcp2 + GnuTLS for QUIC, libturbojpeg for JPEG, OpenSSL for .NET's crypto). Install it with
# `apt-get install ./spiceaccel_*.deb` (or dpkg -i); on Debian 12, ngtcp2 1.x comes from bookworm-backports.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${VERSION:-$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' src/Accel.Edge/Accel.Edge.csproj)}"
OUT="${OUT:-dist}"
ARCH="$(dpkg --print-architecture)"
case "$ARCH" in
  amd64) RID=linux-x64 ;;
  arm64) RID=linux-arm64 ;;
  *) echo "package.sh: no .NET runtime identifier for $ARCH" >&2; exit 1 ;;
esac

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
lib="$root/usr/lib/spiceaccel"
doc="$root/usr/share/doc/spiceaccel"

# ReadyToRun: the edges' own code and their packages are compiled ahead, so the first session after a start does not
# wait for the JIT (bench/netem, branch, first session after the edges started: link reply median 456 → 244 ms,
# first screen 1268 → 792 ms, 7 alternating starts each; later sessions equal).
dotnet publish src/Accel.Edge/Accel.Edge.csproj -c Release -r "$RID" --self-contained -nologo -v:q \
  -p:PublishReadyToRun=true -p:Version="$VERSION" -p:DebugType=none -p:GenerateDocumentationFile=false -o "$lib"
rm -f "$lib"/*.pdb

install -d "$root/usr/bin" "$root/usr/lib/systemd/system" "$root/usr/lib/sysusers.d" "$doc/examples" "$root/DEBIAN" \
  "$root/usr/share/bash-completion/completions"
ln -s ../lib/spiceaccel/spiceaccel "$root/usr/bin/spiceaccel"
"$lib/spiceaccel" completion bash > "$root/usr/share/bash-completion/completions/spiceaccel"
chmod 0644 "$root/usr/share/bash-completion/completions/spiceaccel"
install -m 0644 systemd/spiceaccel-server.service systemd/spiceaccel-client.service "$root/usr/lib/systemd/system/"
install -m 0644 systemd/spiceaccel.sysusers.conf "$root/usr/lib/sysusers.d/spiceaccel.conf"
install -m 0644 systemd/server.example.json systemd/client.example.json "$doc/examples/"
install -m 0644 README.md "$doc/"
cp -r docs/. "$doc/"
[ -d deploy ] && cp -r deploy "$doc/"
find "$doc" -type d -exec chmod 0755 {} + ; find "$doc" -type f -exec chmod 0644 {} +

size_kb="$(du -sk "$root" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$size_kb/" eng/deb/control.in > "$root/DEBIAN/control"
install -m 0755 eng/deb/postinst eng/deb/prerm eng/deb/postrm "$root/DEBIAN/"

mkdir -p "$OUT"
deb="$OUT/spiceaccel_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
