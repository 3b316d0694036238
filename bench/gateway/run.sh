#!/usr/bin/env bash
# bench/gateway/run.sh BUILD [--size smoke|standard] [--passes N]
# End-to-end gateway figures: starts BUILD/bin/stratad on 127.0.0.1:0 with a fresh data
# directory, ingests the TSBS cpu-only data over HTTP with 1 writer and then (fresh server)
# 2 writers, runs the TSBS query set through Flight DoGet, stops the server and runs the
# same queries in-process (engine time). Figures go to stdout; copy them to
# docs/performance.md with the command line. Encryption at rest is off
# (STRATA_ENCRYPTION=off), so the figures compare with earlier runs and the in-process
# engine run can open the data; STRATAD_ARGS adds flags to the server.
set -euo pipefail
build=${1:?usage: run.sh BUILD [--size smoke|standard] [--passes N]}; shift
size=standard; passes=3
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --passes) passes=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bin=$build/bin
work=$(mktemp -d)
trap 'jobs -p | xargs -r kill 2>/dev/null; rm -rf "$work"' EXIT
"$bin/tsbs_gen" --size "$size" --format lp --out "$work/cpu.lp"
"$bin/tsbs_gen" --size "$size" --queries ours --per-type 10 > "$work/queries.tsv"
echo "rows: $(wc -l < "$work/cpu.lp")  bytes: $(stat -c %s "$work/cpu.lp")  cores: $(nproc)"

start() {  # start stratad on a fresh data dir; sets PORT and DATA
  DATA=$work/data-$1; rm -f "$work/port"
  # shellcheck disable=SC2086
  STRATA_ENCRYPTION=off "$bin/stratad" --data-dir "$DATA" --listen 127.0.0.1:0 --port-file "$work/port" \
    --admin-token-file "$work/token" --log-level warn ${STRATAD_ARGS:-} >/dev/null &
  SPID=$!
  for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  PORT=$(cat "$work/port")
}
stop() { kill -TERM "$SPID"; wait "$SPID"; }

for w in 1 2; do
  start "w$w"
  "$bin/gw_bench" ingest --port "$PORT" --token-file "$work/token" --lp "$work/cpu.lp" \
    --writers "$w" --db bench
  if [ "$w" = 2 ]; then
    "$bin/gw_bench" query --port "$PORT" --token-file "$work/token" --db bench \
      --queries "$work/queries.tsv" --passes "$passes" || true
  fi
  stop
done
"$bin/gw_bench" engine --data-dir "$DATA" --db bench --queries "$work/queries.tsv" \
  --passes "$passes" 2>/dev/null || echo "engine timing: gw_bench built without the engine's query side"
