#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD/bin for SECONDS each, starting from
# (and adding to) its corpus in tests/fuzz/corpus/<name>/. Crashing inputs
# are written to tests/fuzz/corpus/<name>/ as crash-* files: rename them to
# describe the bug, fix it, and commit them as regression inputs.
set -uo pipefail
# The fuzz build's UBSan only reports and goes on; halting on the first report
# makes libFuzzer keep the input as a crash-* file like any other finding.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
build=${1:-build-fuzz}
secs=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$build"/bin/fuzz_*; do
  case "$bin" in *_replay) continue ;; esac
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); name=${name#fuzz_}
  corpus="$root/tests/fuzz/corpus/$name"
  work=$(mktemp -d)
  mkdir -p "$corpus"
  dict=()
  for d in "$root/tests/fuzz/$name"/*.dict; do [ -f "$d" ] && dict=(-dict="$d"); done
  echo "== fuzz $name for ${secs}s"
  if ! "$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$corpus/" \
        "${dict[@]}" "$work" "$corpus" 2>&1 | grep -E 'stat::number_of_executed_units|cov:|ERROR|SUMMARY' | tail -4; then
    :
  fi
  # keep newly found interesting inputs, minimised, in the committed corpus
  "$bin" -merge=1 "$corpus" "$work" >/dev/null 2>&1 || true
  rm -rf "$work"
  if ls "$corpus"/crash-* >/dev/null 2>&1; then
    echo "!! $name: crashing inputs in $corpus"; status=1
  fi
done
exit $status
