#!/usr/bin/env bash
# Coverage-guided fuzzing of SpiceAccel's parsers and decoders: SharpFuzz instruments the product's assemblies and
# AFL++ (Debian's afl++, installed by eng/setup.sh) drives tests/Fuzz/Accel.Fuzz. docs/fuzzing.md explains the targets.
#
#   eng/fuzz.sh --list                 the targets
#   eng/fuzz.sh TARGET SECONDS         build, instrument, fuzz TARGET for SECONDS from its committed seed corpus
#   eng/fuzz.sh --build                build and instrument only
#
# Environment: FUZZ_WORK (default artifacts/fuzz) holds the instrumented build and each run's findings;
# FUZZ_NO_BUILD=1 reuses the instrumented build already there; FUZZ_TIMEOUT_MS is afl-fuzz's per-input time limit
# (default 10000: an input that runs longer is a hang; generous, as the runs are niced on a shared machine);
# FUZZ_EXECS=N also ends the run after about N executions (afl-fuzz -E), whichever of the two comes first.
# Prints the executions, exec/s, paths, crashes and hangs; exits 1 when a crash or a hang was found (the inputs are
# under FUZZ_WORK/TARGET/default/{crashes,hangs}), 2 on usage.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=${FUZZ_WORK:-$repo/artifacts/fuzz}
bin=$work/bin
project=tests/Fuzz/Accel.Fuzz
corpus=$repo/tests/Fuzz/corpus

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2; }

build() {
  if [ "${FUZZ_NO_BUILD:-0}" = 1 ] && [ -f "$bin/.instrumented" ]; then return 0; fi
  echo "[fuzz] building $project" >&2
  # An ordinary (incremental) build, then a copy to instrument: the build's own output stays uninstrumented.
  dotnet build "$project" -c Release -nologo -clp:ErrorsOnly -v:q >/dev/null
  rm -rf "$bin"; mkdir -p "$work"
  cp -r "$project/bin/Release/net10.0" "$bin"
  dotnet tool restore >/dev/null
  # The product's own assemblies only: the runtime and the packages are not what is being fuzzed.
  for dll in Spice.Codecs.dll Accel.Core.dll spiceaccel.dll; do
    dotnet tool run sharpfuzz "$bin/$dll" >/dev/null
  done
  touch "$bin/.instrumented"
}

case "${1:-}" in
  --list)
    if [ ! -f "$bin/Accel.Fuzz.dll" ]; then build; fi
    dotnet "$bin/Accel.Fuzz.dll" --list
    exit 0 ;;
  --build) build; exit 0 ;;
  ""|-h|--help) usage ;;
esac
[ $# -eq 2 ] || usage
target=$1 seconds=$2
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || usage
command -v afl-fuzz >/dev/null || { echo "[fuzz] afl-fuzz is not installed (eng/setup.sh installs Debian's afl++)" >&2; exit 2; }
build
if ! dotnet "$bin/Accel.Fuzz.dll" --list | awk '{print $1}' | grep -qx -- "$target"; then
  echo "[fuzz] unknown target '$target' (eng/fuzz.sh --list)" >&2; exit 2
fi
seeds=$corpus/$target
[ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ] || { echo "[fuzz] no seed corpus in $seeds" >&2; exit 2; }

out=$work/$target
rm -rf "$out"; mkdir -p "$out"
# SharpFuzz's in-process fork server: the dotnet host is not instrumented itself (AFL_SKIP_BIN_CHECK); no CPU
# binding on a shared machine; no core dumps wanted (AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES).
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_FAST_CAL=1 AFL_QUIET=1
export DOTNET_TieredPGO=0 DOTNET_TC_QuickJitForLoops=1
log=$out/afl.log
stats=$out/default/fuzzer_stats
limit=(-V "$seconds")
if [ -n "${FUZZ_EXECS:-}" ]; then
  [[ "$FUZZ_EXECS" =~ ^[0-9]+$ ]] || { echo "[fuzz] FUZZ_EXECS must be a number of executions" >&2; exit 2; }
  limit+=(-E "$FUZZ_EXECS")
fi
for attempt in 1 2; do
  set +e
  afl-fuzz -i "$seeds" -o "$out" "${limit[@]}" -t "${FUZZ_TIMEOUT_MS:-10000}" -m none -- dotnet "$bin/Accel.Fuzz.dll" "$target" >"$log" 2>&1
  rc=$?
  set -e
  # Seen once in ~80 starts on a loaded machine: the first dry run reports an empty map. A second start has always worked.
  if [ -f "$stats" ] || ! grep -q "No instrumentation detected" "$log"; then break; fi
  echo "[fuzz] $target: afl-fuzz saw no coverage on its first run; starting again" >&2
  rm -rf "${out:?}/default"
done
if [ ! -f "$stats" ]; then
  echo "[fuzz] $target: afl-fuzz did not start (exit $rc); the end of $log:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
crashes=$(stat saved_crashes) hangs=$(stat saved_hangs)
# SharpFuzz runs every input in the one dotnet process that is also the fork server: an input that kills it (a
# native crash in a library, a stack overflow) or that afl-fuzz kills for running too long ends the campaign early.
# The input it was running is kept as a crash.
if [ "$rc" -ne 0 ] || grep -q "PROGRAM ABORT" "$log"; then
  mkdir -p "$out/default/crashes"
  cp "$out/default/.cur_input" "$out/default/crashes/id:died,the-process-running-this-input-died" 2>/dev/null || true
  echo "[fuzz] $target: the target process died (afl-fuzz exit $rc); the end of $log:" >&2
  sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' "$log" | grep -v '^$' | tail -n 4 >&2
  crashes=$(( ${crashes:-0} + 1 ))
fi
printf '%s: %s executions in %s s (%s exec/s), %s paths, %s crashes, %s hangs\n' \
  "$target" "$(stat execs_done)" "$(( $(stat last_update) - $(stat start_time) ))" "$(stat execs_per_sec)" "$(stat corpus_count)" "$crashes" "$hangs"
if [ "${crashes:-0}" != 0 ] || [ "${hangs:-0}" != 0 ]; then
  for f in "$out"/default/crashes/id:* "$out"/default/hangs/id:*; do
    [ -f "$f" ] || continue
    echo "[fuzz] $f" >&2
    timeout 60 dotnet "$bin/Accel.Fuzz.dll" "$target" "$f" 2>&1 | head -n 12 >&2 || true
  done
  exit 1
fi
