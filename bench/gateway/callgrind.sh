#!/usr/bin/env bash
# bench/gateway/callgrind.sh BUILD [--type T] [--calls N] [--size S] [--out FILE]
# Instructions per query in stratad, deterministic where wall time on a shared machine is
# not: writes the TSBS cpu-only data (ingest_bench, encryption at rest off), starts
# BUILD's stratad under `valgrind --tool=callgrind`, runs one warm-up gw_bench pass of one
# query of type T (default single-groupby-1-1-1), zeroes the counters, runs N calls
# (default 21: gw_bench's own warm-up call plus N-1 passes) of the same query through
# Flight DoGet, dumps, and prints the total and the inclusive cost per query of the
# functions named in docs/performance.md ("Where the rest of a light query goes"). The
# callgrind file is kept at FILE (default ./callgrind.gw.out) for callgrind_annotate.
# Build BUILD with -DCMAKE_BUILD_TYPE=RelWithDebInfo.
set -euo pipefail
usage="usage: callgrind.sh BUILD [--type T] [--calls N] [--size S] [--out FILE]"
b=${1:?$usage}; shift
type=single-groupby-1-1-1 calls=21 size=smoke out=$PWD/callgrind.gw.out
while [ $# -gt 0 ]; do
  case "$1" in
    --type) type=$2; shift 2 ;;
    --calls) calls=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
  esac
done
rm -f "$out" "$out".*
work=$(mktemp -d)
vpid=
trap '[ -n "$vpid" ] && kill "$vpid" 2>/dev/null; rm -rf "$work"' EXIT
"$b/bin/tsbs_gen" --size "$size" --format lp --out "$work/cpu.lp"
"$b/bin/tsbs_gen" --size "$size" --queries ours --per-type 1 | grep -E "^$type"$'\t' | head -1 \
  > "$work/q.tsv" || true
[ -s "$work/q.tsv" ] || { echo "no query of type '$type'" >&2; exit 2; }
"$b/bin/ingest_bench" --lp "$work/cpu.lp" --data-dir "$work/data" --db bench \
  --batch-lines 10000 > /dev/null
# shellcheck disable=SC2086
STRATA_ENCRYPTION=off valgrind --tool=callgrind --callgrind-out-file="$out" \
  "$b/bin/stratad" --data-dir "$work/data" --listen 127.0.0.1:0 --port-file "$work/port" \
  --admin-token-file "$work/token" --log-level warn ${STRATAD_ARGS:-} \
  > "$work/stratad.log" 2>&1 &
vpid=$!
for _ in $(seq 1200); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
"$b/bin/gw_bench" query --port "$port" --token-file "$work/token" --db bench \
  --queries "$work/q.tsv" --passes 1 > /dev/null
sleep 1 # let the audit writer finish the warm-up's lines
callgrind_control -z "$vpid" > /dev/null 2>&1
"$b/bin/gw_bench" query --port "$port" --token-file "$work/token" --db bench \
  --queries "$work/q.tsv" --passes $((calls - 1)) > /dev/null
sleep 1
callgrind_control -d "$vpid" > /dev/null 2>&1
sleep 1
kill -TERM "$vpid"; wait "$vpid" || true
vpid=
dump=$out.1 # the first dump (callgrind_control -d); $out itself is written at exit
[ -s "$dump" ] || dump=
[ -n "$dump" ] || { echo "no callgrind dump at $out.1" >&2; exit 1; }
echo "query: $(cut -f3 "$work/q.tsv")"
echo "calls: $calls  dump: $dump"
fns='rbac_audit_line|gw_ticket_json|json_loadb|rbac__token_hash|gw_authenticate|fstate_new|gw_query_init|gw_query_cleanup|gw_h_flight_free|eng_query|eng_cursor_next|__memset_avx2_unaligned_erms|calloc|st_buf_printf'
echo "instructions per query, inclusive:"
callgrind_annotate --inclusive=yes --threshold=100 "$dump" 2>/dev/null | awk -v n="$calls" -v fns="$fns" '
  /PROGRAM TOTALS/ { v = $1; gsub(",", "", v); printf "%10d  total\n", v / n }
  /\]$/ && match($0, ":(" fns ") \\[") {
    f = substr($0, RSTART + 1, RLENGTH - 3)
    if (!(f in seen)) { seen[f] = 1; v = $1; gsub(",", "", v); printf "%10d  %s\n", v / n, f } }'
