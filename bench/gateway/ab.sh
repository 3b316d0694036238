#!/usr/bin/env bash
# bench/gateway/ab.sh BUILD_A BUILD_B [--types REGEX] [--passes N] [--rounds R] [--size S]
# A/B of two stratad builds on the same data, for gateway changes: the TSBS cpu-only data
# is written and persisted once (BUILD_B's tsbs_gen and ingest_bench), then each round
# starts BUILD_A's stratad, then BUILD_B's, each on a fresh copy of that data directory,
# and queries it with one client (BUILD_B's gw_bench: same client for both) after one
# warm-up pass. Per server and round it prints gw_bench's per-type overhead lines and
# the server's CPU seconds and context switches over the timed passes (utime + stime and
# the threads' switch counts from /proc). Rounds alternate A and B so that the shared
# machine's drift hits both. Copy the lines you quote to docs/performance.md with this
# command line. STRATAD_ARGS adds flags to both servers.
set -euo pipefail
a=${1:?usage: ab.sh BUILD_A BUILD_B [--types REGEX] [--passes N] [--rounds R] [--size S]}
b=${2:?usage: ab.sh BUILD_A BUILD_B [--types REGEX] [--passes N] [--rounds R] [--size S]}
shift 2
types=. passes=10 rounds=2 size=standard
while [ $# -gt 0 ]; do
  case "$1" in
    --types) types=$2; shift 2 ;;
    --passes) passes=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
spid=
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; rm -rf "$work"' EXIT
"$b/bin/tsbs_gen" --size "$size" --format lp --out "$work/cpu.lp"
"$b/bin/tsbs_gen" --size "$size" --queries ours --per-type 10 | grep -E "^($types)"$'\t' \
  > "$work/queries.tsv" || true
[ -s "$work/queries.tsv" ] || { echo "no query type matches '$types'" >&2; exit 2; }
"$b/bin/ingest_bench" --lp "$work/cpu.lp" --data-dir "$work/data" --db bench \
  --batch-lines 10000 > /dev/null
rm -f "$work/cpu.lp"
echo "queries: $(wc -l < "$work/queries.tsv")  passes: $passes  rounds: $rounds  cores: $(nproc)"

ctxsw() { # voluntary + involuntary context switches of all threads of a process
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}'
}
run() { # run LABEL BUILD
  rm -rf "$work/d" "$work/port"
  cp -a "$work/data" "$work/d"
  # the data is written by ingest_bench without encryption; stratad encrypts by default
  # and would refuse it (the variable, unlike a flag, is ignored by older builds)
  STRATA_ENCRYPTION=off "$2/bin/stratad" --data-dir "$work/d" --listen 127.0.0.1:0 \
    --port-file "$work/port" \
    --admin-token-file "$work/token" --log-level warn ${STRATAD_ARGS:-} > /dev/null 2>&1 &
  spid=$!
  for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  local port; port=$(cat "$work/port")
  "$b/bin/gw_bench" query --port "$port" --token-file "$work/token" --db bench \
    --queries "$work/queries.tsv" --passes 1 > /dev/null
  local t0 t1 c0 c1 nq
  nq=$(( $(wc -l < "$work/queries.tsv") * passes ))
  t0=$(awk '{print $14 + $15}' "/proc/$spid/stat")
  c0=$(ctxsw "$spid")
  "$b/bin/gw_bench" query --port "$port" --token-file "$work/token" --db bench \
    --queries "$work/queries.tsv" --passes "$passes" | grep -E '^overhead' | sed "s/^/$1 /"
  t1=$(awk '{print $14 + $15}' "/proc/$spid/stat")
  c1=$(ctxsw "$spid")
  echo "$1 stratad_cpu_s=$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.2f", (b - a) / hz }') ctx_switches_per_query=$(awk -v a="$c0" \
    -v b="$c1" -v n="$nq" 'BEGIN { printf "%.1f", (b - a) / n }')"
  kill -TERM "$spid"; wait "$spid" || true
  spid=
}
for r in $(seq "$rounds"); do
  run "A[$r]" "$a"
  run "B[$r]" "$b"
done
