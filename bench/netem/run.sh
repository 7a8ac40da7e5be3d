#!/usr/bin/env bash
# Runs the lossy-link benchmark suite (needs root). Example:
#   bench/netem/run.sh run --profiles branch,lossy-wan --contenders plain,kcptun --workloads connect,update --repeat 3
#   bench/netem/run.sh run --quick
#   bench/netem/run.sh cleanup
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# The benchmark tears its namespaces down itself on Ctrl-C/SIGTERM; after a crash (SIGKILL) the
# cleanup below removes only namespaces whose creating process is dead, so parallel runs are safe.
cleanup() { dotnet "$here/NetemBench/bin/Release/net10.0/NetemBench.dll" cleanup >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM
dotnet build "$here/NetemBench/NetemBench.csproj" -c Release -v quiet -nologo >/dev/null
dotnet "$here/NetemBench/bin/Release/net10.0/NetemBench.dll" "${@:-run}"
