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
    exec dotnet src/Accel.Edge/bin/Release/net10.0/spiceaccel.dll demo "$@"
    ;;
  test)
    ./eng/setup.sh
    exec ./eng/test.sh "$@"
    ;;
  *)
    echo "usage: $0 demo|test [args]" >&2; exit 2 ;;
esac
