#!/usr/bin/env bash
# The two commands of the README:
#   ./eng/run.sh demo   set up what is missing, then run the demo
#   ./eng/run.sh test   set up what is missing, then run the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."
verb="${1:-}"; shift || true
case "$verb" in
  demo)
    ./eng/setup.sh
    # 1. A real SPICE desktop (Xspice: xterm + clock) through both edges on this host: screenshot and live metrics.
    dotnet src/Accel.Edge/bin/Release/net10.0/spiceaccel.dll demo "$@"
    # 2. The same desktop over an emulated lossy branch-office WAN (50 ms, 1 % loss, 10 Mbit/s, network namespaces):
    #    plain SPICE and SpiceAccel side by side on the identical link: first screen, key-to-echo (idle and beside a
    #    30 fps animation), pointer updates reaching the server, display freshness; report + plots.
    exec bench/netem/run.sh run --quick --contenders plain,spiceaccel --workloads connect,typing,mixed,animation
    ;;
  test)
    ./eng/setup.sh
    exec ./eng/test.sh "$@"
    ;;
  *)
    echo "usage: $0 demo|test [args]" >&2; exit 2 ;;
esac
