#!/usr/bin/env bash
# bench/gateway/ab.sh BUILD_A BUILD_B [--types REGEX] [--passes N] [--rounds R] [--size S]
#                                     [--ingest WRITERS]
# A/B of two stratad builds on the same data, for gateway changes. Rounds alternate A and
# B so that the shared machine's drift hits both; every line is prefixed with A[r] or
# B[r]. Both servers get the same client (BUILD_B's gw_bench). STRATAD_ARGS adds flags to
# both servers. Copy the lines you quote to docs/performance.md with this command line.
#
# Queries (default): the TSBS cpu-only data is written and persisted once (BUILD_B's
# tsbs_gen and ingest_bench), then each round starts A's stratad, then B's, each on a
# fresh copy of that data directory, and queries it after one warm-up pass. Per server
# and round: gw_bench's per-type overhead lines, the server's CPU seconds and its context
# switches per query over the timed passes (utime + stime and the threads' switch counts
# from /proc).
#
# --ingest WRITERS: each round starts A's stratad, then B's, on an empty data directory
# and writes the whole line-protocol file over HTTP with WRITERS concurrent writers
# (gw_bench ingest: 10,000-line batches to /api/v3/write_lp, durable acknowledgements).
# Per server and round: gw_bench's ingest line (rows/s, batch-ack p50/p99), the server's
# CPU seconds per million rows and context switches per batch. GZIP_BODIES=1 sends the
# batches gzip'd.
#
# Encryption at rest is off (STRATA_ENCRYPTION=off: ingest_bench writes plaintext data,
# and the variable, unlike a flag, is ignored by older builds).
set -euo pipefail
usage="usage: ab.sh BUILD_A BUILD_B [--types REGEX] [--passes N] [--rounds R] [--size S] [--ingest W]"
a=${1:?$usage}
b=${2:?$usage}
shift 2
types='.*' passes=10 rounds=2 size=standard ingest=0
while [ $# -gt 0 ]; do
  case "$1" in
    --types) types=$2; shift 2 ;;
    --passes) passes=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --ingest) ingest=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
spid=
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; rm -rf "$work"' EXIT
"$b/bin/tsbs_gen" --size "$size" --format lp --out "$work/cpu.lp"
if [ "$ingest" = 0 ]; then
  "$b/bin/tsbs_gen" --size "$size" --queries ours --per-type 10 | grep -E "^($types)"$'\t' \
    > "$work/queries.tsv" || true
  [ -s "$work/queries.tsv" ] || { echo "no query type matches '$types'" >&2; exit 2; }
  "$b/bin/ingest_bench" --lp "$work/cpu.lp" --data-dir "$work/data" --db bench \
    --batch-lines 10000 > /dev/null
  rm -f "$work/cpu.lp"
  echo "queries: $(wc -l < "$work/queries.tsv")  passes: $passes  rounds: $rounds  cores: $(nproc)"
else
  echo "ingest: $(wc -l < "$work/cpu.lp") rows, $ingest writers  rounds: $rounds  cores: $(nproc)"
fi

ctxsw() { # voluntary + involuntary context switches of all threads of a process
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}'
}
start() { # start BUILD DATA-DIR: sets spid, port
  rm -f "$work/port"
  # shellcheck disable=SC2086
  STRATA_ENCRYPTION=off "$1/bin/stratad" --data-dir "$2" --listen 127.0.0.1:0 \
    --port-file "$work/port" --admin-token-file "$work/token" --log-level warn \
    ${STRATAD_ARGS:-} > /dev/null 2>&1 &
  spid=$!
  for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  port=$(cat "$work/port")
}
stop() {
  kill -TERM "$spid"; wait "$spid" || true
  spid=
}
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / hz}' "/proc/$1/stat"; }

run_queries() { # run_queries LABEL BUILD
  rm -rf "$work/d"
  cp -a "$work/data" "$work/d"
  start "$2" "$work/d"
  "$b/bin/gw_bench" query --port "$port" --token-file "$work/token" --db bench \
    --queries "$work/queries.tsv" --passes 1 > /dev/null
  local t0 t1 c0 c1 nq
  nq=$(( $(wc -l < "$work/queries.tsv") * passes ))
  t0=$(cpu_s "$spid")
  c0=$(ctxsw "$spid")
  "$b/bin/gw_bench" query --port "$port" --token-file "$work/token" --db bench \
    --queries "$work/queries.tsv" --passes "$passes" | grep -E '^overhead' | sed "s/^/$1 /"
  t1=$(cpu_s "$spid")
  c1=$(ctxsw "$spid")
  echo "$1 stratad_cpu_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" \
    "ctx_switches_per_query=$(awk -v a="$c0" -v b="$c1" -v n="$nq" \
    'BEGIN { printf "%.1f", (b - a) / n }')"
  stop
}

run_ingest() { # run_ingest LABEL BUILD
  rm -rf "$work/d"
  start "$2" "$work/d"
  local t0 t1 c0 c1 rows batches out
  rows=$(wc -l < "$work/cpu.lp")
  batches=$(( (rows + 9999) / 10000 ))
  t0=$(cpu_s "$spid")
  c0=$(ctxsw "$spid")
  out=$("$b/bin/gw_bench" ingest --port "$port" --token-file "$work/token" \
    --lp "$work/cpu.lp" --writers "$ingest" --db bench --gzip "${GZIP_BODIES:-0}" | grep '^ingest')
  t1=$(cpu_s "$spid")
  c1=$(ctxsw "$spid")
  echo "$1 $out stratad_cpu_s_per_m_rows=$(awk -v a="$t0" -v b="$t1" -v n="$rows" \
    'BEGIN { printf "%.3f", (b - a) * 1e6 / n }')" \
    "ctx_switches_per_batch=$(awk -v a="$c0" -v b="$c1" -v n="$batches" \
    'BEGIN { printf "%.1f", (b - a) / n }')"
  stop
}

for r in $(seq "$rounds"); do
  if [ "$ingest" = 0 ]; then
    run_queries "A[$r]" "$a"
    run_queries "B[$r]" "$b"
  else
    run_ingest "A[$r]" "$a"
    run_ingest "B[$r]" "$b"
  fi
done
