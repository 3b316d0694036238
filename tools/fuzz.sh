#!/usr/bin/env bash
# Usage: tools/fuzz.sh [BUILD [SECONDS [NAME...]]]
# Runs every libFuzzer target in BUILD/bin (or just the NAMEs given, e.g.
# "sql wal") for SECONDS each, starting from (and adding to) its corpus in
# tests/fuzz/corpus/<name>/. A summary line per target (executions, coverage,
# corpus size) is printed at the end. Crashing inputs
# are written to tests/fuzz/corpus/<name>/ as crash-* files: rename them to
# describe the bug, fix it, and commit them as regression inputs.
set -uo pipefail
# The fuzz build's UBSan only reports and goes on; halting on the first report
# makes libFuzzer keep the input as a crash-* file like any other finding.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
build=${1:-build-fuzz}
secs=${2:-60}
shift 2 2>/dev/null || shift $#
only=" $* "
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
summary=
for bin in "$build"/bin/fuzz_*; do
  case "$bin" in *_replay) continue ;; esac
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); name=${name#fuzz_}
  if [ "$only" != "  " ] && [[ "$only" != *" $name "* ]]; then continue; fi
  corpus="$root/tests/fuzz/corpus/$name"
  work=$(mktemp -d)
  mkdir -p "$corpus"
  dict=()
  for d in "$root/tests/fuzz/$name"/*.dict; do [ -f "$d" ] && dict=(-dict="$d"); done
  echo "== fuzz $name for ${secs}s"
  log=$(mktemp)
  started=$SECONDS
  "$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$corpus/" \
        "${dict[@]}" "$work" "$corpus" >"$log" 2>&1
  grep -E 'ERROR|SUMMARY' "$log" | head -5
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  ran=$((SECONDS - started))   # the time it really ran: a finding stops it early
  rm -f "$log"
  # keep newly found interesting inputs, minimised, in the committed corpus
  "$bin" -merge=1 "$corpus" "$work" >/dev/null 2>&1 || true
  rm -rf "$work"
  found=ok
  for f in "$corpus"/crash-* "$corpus"/leak-* "$corpus"/timeout-* "$corpus"/oom-*; do
    [ -e "$f" ] && found=FAILING
  done
  if [ "$found" = FAILING ]; then
    echo "!! $name: failing inputs in $corpus"; status=1
  fi
  summary+=$(printf '%-22s %6ss %12s execs  cov %6s  corpus %5s  %s' "$name" "${ran:-?}" \
    "${execs:-?}" "${cov:-?}" "$(ls "$corpus" | wc -l)" "$found")$'\n'
done
printf '\n== summary (%s)\n%s' "$(date -u +%Y-%m-%dT%H:%MZ)" "${summary:-no targets run}"
exit $status
