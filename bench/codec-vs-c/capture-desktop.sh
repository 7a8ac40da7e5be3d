#!/usr/bin/env bash
# Captures real Xspice desktops with spice-gtk (spicy-screenshot) as gzipped PPMs, the "desktop" inputs of run.sh.
# Usage: bench/codec-vs-c/capture-desktop.sh OUTDIR   (needs Xorg + xserver-xspice, xterm, xclock, xeyes, spicy-screenshot: eng/setup.sh)
# The committed inputs in bench/codec-vs-c/images/ were made with this script; the screen content is whatever these
# commands print on the machine (directory listings, man page), so a rerun gives a similar, not identical, desktop.
set -euo pipefail
out=${1:?usage: capture-desktop.sh OUTDIR}
mkdir -p "$out"
display=:${XSPICE_DISPLAY:-47}
port=${XSPICE_PORT:-5947}
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Xorg with the spiceqxl driver, started directly: the Xspice wrapper script crashes here and the driver needs
# NumHeads (shared/reference/lab-facts.md; the same settings as src/Accel.Edge/Demo/XspiceConfig.cs).
cat >"$work/xorg.conf" <<CONF
Section "Device"
  Identifier "XSPICE"
  Driver "spiceqxl"
  Option "SpicePort" "$port"
  Option "SpiceDisableTicketing" "True"
  Option "NumHeads" "1"
  Option "FrameBufferSize" "16"
  Option "SurfaceBufferSize" "128"
  Option "CommandBufferSize" "128"
EndSection
Section "InputDevice"
  Identifier "XSPICE POINTER"
  Driver "xspice pointer"
EndSection
Section "InputDevice"
  Identifier "XSPICE KEYBOARD"
  Driver "xspice keyboard"
EndSection
Section "Monitor"
  Identifier "M"
EndSection
Section "Screen"
  Identifier "S"
  Monitor "M"
  Device "XSPICE"
  DefaultDepth 24
  SubSection "Display"
    Depth 24
    Virtual 1280 1024
    Modes "1024x768"
  EndSubSection
EndSection
Section "ServerLayout"
  Identifier "L"
  Screen "S"
  InputDevice "XSPICE KEYBOARD"
  InputDevice "XSPICE POINTER"
EndSection
Section "ServerFlags"
  Option "AutoAddDevices" "False"
EndSection
CONF
Xorg -config "$work/xorg.conf" -logfile "$work/xorg.log" -noreset -nolisten tcp "$display" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    DISPLAY=$display xdpyinfo >/dev/null 2>&1 && break || sleep 0.2
done
export DISPLAY=$display

shot() {
    # spice-gtk needs a moment to receive the whole surface; the screenshot is taken when the display is complete.
    sleep 2
    spicy-screenshot -h 127.0.0.1 -p "$port" -o "$work/$1.ppm" >/dev/null 2>&1
    gzip -9n -c "$work/$1.ppm" >"$out/$1.ppm.gz"
    echo "$out/$1.ppm.gz"
}

# 1: two terminals full of text (directory listing, a man page), a clock and xeyes.
xterm -geometry 96x42+0+0 -fa Monospace -fs 9 -e sh -c 'ls -l /usr/bin | head -200; exec sleep 600' &
pids+=($!)
xterm -geometry 80x30+520+250 -bg '#202830' -fg '#d0e0c0' -e sh -c 'man -P cat ls 2>/dev/null | head -120; exec sleep 600' &
pids+=($!)
xclock -geometry 180x180+820+20 -update 1 &
pids+=($!)
xeyes -geometry 160x100+850+600 &
pids+=($!)
shot desktop-terminals

# 2: many small overlapping windows with coloured backgrounds (UI-like: flat areas, borders, short text).
for i in 0 1 2 3 4 5; do
    xterm -geometry 40x12+$((i * 150))+$((i * 90)) -bg "#$(printf '%02x%02x%02x' $((40 * i)) $((200 - 25 * i)) $((120 + 20 * i)))" \
        -e sh -c "ls -F /usr/share | sed -n '$((i * 20 + 1)),$((i * 20 + 40))p'; exec sleep 600" &
    pids+=($!)
done
shot desktop-windows
