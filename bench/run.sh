#!/usr/bin/env bash
# bench/run.sh: the whole benchmark in one run and one process tree (what
# `make bench` calls as `bench/run.sh build-bench`). Generates the TSBS
# cpu-only data and query instances, measures the baselines (memory read
# bandwidth, line-protocol parse if lp_bench is built), our ingest against
# DuckDB's CSV bulk load (same rows), then the queries interleaved by type
# with every answer checked against DuckDB's; prints the tables and writes
# them as JSON and Markdown to bench/out/<size>/.
#
#   bench/run.sh BUILD_DIR [--size smoke|standard] [--threads N]
#                [--only ingest|queries] [--passes N] [--per-type N] [--check]
#
#   --threads N   DuckDB's thread count for the queries (ours runs a query on
#                 one thread); the DuckDB load is measured with 2 and 1.
#   --check       correctness only: no timed passes (the bench-smoke ctest)
#
# Exit status: 0 = done and every answer matched; 1 = a wrong answer, a
# failed query or a failed stage; 2 = bad usage. Pieces of our engine that
# have not landed are reported as missing, not as failures.
set -euo pipefail

usage() {
  sed -n '2,/^set -e/p' "$0" | sed -e '/^set -e/d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 1 ] || usage
case "$1" in -h|--help) usage ;; esac
build=$1; shift
size=standard threads=1 only=all passes=3 per_type=20 check=0
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=${2:?}; shift 2 ;;
    --threads) threads=${2:?}; shift 2 ;;
    --only) only=${2:?}; shift 2 ;;
    --passes) passes=${2:?}; shift 2 ;;
    --per-type) per_type=${2:?}; shift 2 ;;
    --check) check=1; shift ;;
    -h|--help) usage ;;
    *) echo "run.sh: unknown option '$1'" >&2; usage ;;
  esac
done
case "$size" in smoke|standard) ;; large) echo "run.sh: --size large is run by hand (see bench/README.md)" >&2; exit 2 ;; *) echo "run.sh: --size: smoke or standard" >&2; exit 2 ;; esac
case "$only" in all|ingest|queries) ;; *) echo "run.sh: --only: ingest or queries" >&2; exit 2 ;; esac
[[ "$threads" =~ ^[1-9][0-9]?$ ]] || { echo "run.sh: --threads: 1..99" >&2; exit 2; }
[[ "$passes" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --passes: a positive integer" >&2; exit 2; }
[[ "$per_type" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --per-type: a positive integer" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build=$root/$build ;; esac
bin=$build/bin
node_dir=$root/bench/node
out=${BENCH_OUT:-$root/bench/out}/$size
work=$out/work
mkdir -p "$work"

[ -x "$bin/tsbs_gen" ] || { echo "run.sh: $bin/tsbs_gen is not built (cmake --build $build)" >&2; exit 1; }
if [ ! -d "$node_dir/node_modules/@duckdb/node-api" ]; then
  echo "run.sh: DuckDB for node is not installed: run 'make deps' (npm ci in bench/node)" >&2
  exit 1
fi

say() { printf '\n== %s\n' "$*" >&2; }
status=0

# ---- what this run is --------------------------------------------------------
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo true || echo false)
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || echo unknown)
cat > "$out/meta.json" <<EOF
{"size":"$size","threads":$threads,"passes":$passes,"per_type":$per_type,"check_only":$([ $check = 1 ] && echo true || echo false),
 "started":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","git":"$rev","git_dirty":$dirty,
 "cpu":"$cpu","nproc":$(nproc),"mem_gib":$(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo),
 "node":"$(node --version)","build":"$build"}
EOF

# ---- data and query instances ------------------------------------------------
say "generating the $size data set and query instances"
lp=$work/cpu.lp csv=$work/cpu.csv
"$bin/tsbs_gen" --size "$size" --format lp --out "$lp" --count 2>"$work/lp.count"
"$bin/tsbs_gen" --size "$size" --format csv-iso --out "$csv" --count 2>"$work/csv.count"
for d in ours duckdb duckdb-tsbs; do
  "$bin/tsbs_gen" --size "$size" --queries "$d" --per-type "$per_type" --out "$work/queries_${d//-/_}.tsv"
done
echo "line protocol: $(cat "$work/lp.count"); CSV: $(cat "$work/csv.count")" >&2

# ---- baselines ---------------------------------------------------------------
rm -f "$out"/baseline_*.json "$out"/lp_bench.txt
if [ $check = 0 ] && [ "$only" != queries ]; then
  say "baselines"
  mib=512; [ "$size" = smoke ] && mib=128
  "$bin/membw" --mib $mib --reps 7 --threads 2 > "$out/baseline_membw.json" || status=1
  if [ -x "$bin/lp_bench" ]; then
    # lp_bench makes its own TSBS-shaped lines in memory (same scale and row count)
    if [ "$size" = smoke ]; then lp_args=(--hosts 10 --rows 7200); else lp_args=(--hosts 100 --rows 864000); fi
    "$bin/lp_bench" "${lp_args[@]}" > "$out/lp_bench.txt" 2>&1 || { echo "lp_bench failed" >&2; status=1; }
    cat "$out/lp_bench.txt" >&2
  else
    echo "lp_bench not built: no parser-only figure" >&2
  fi
fi

# ---- ingest ------------------------------------------------------------------
ours_data=$work/strata-data
duck_db=$work/cpu.duckdb
rm -f "$out"/ingest_*.json
if [ "$only" != queries ] || [ ! -d "$ours_data" ] || [ ! -f "$duck_db" ]; then
  say "ingest: ours (eng_write, 10,000-line batches, durable acks, then eng_persist)"
  rm -rf "$ours_data"
  if [ -x "$bin/ingest_bench" ]; then
    if ! "$bin/ingest_bench" --lp "$lp" --data-dir "$ours_data" > "$out/ingest_ours.json"; then
      echo "ingest_bench FAILED" >&2; rm -f "$out/ingest_ours.json"; status=1
    fi
    writers=$(nproc)
    if [ $check = 0 ] && [ "$writers" -gt 1 ]; then
      say "ingest: ours again with $writers concurrent writers"
      rm -rf "$ours_data.w"
      if ! "$bin/ingest_bench" --lp "$lp" --data-dir "$ours_data.w" --writers "$writers" > "$out/ingest_ours_writers.json"; then
        echo "ingest_bench --writers $writers FAILED" >&2; rm -f "$out/ingest_ours_writers.json"; status=1
      fi
      rm -rf "$ours_data.w"
    fi
  else
    echo "ingest_bench not built: the engine's write path has not landed" >&2
  fi
  duck_threads="2 1"; [ $check = 1 ] && duck_threads=1   # --check: one load is enough
  for t in $duck_threads; do
    say "ingest: DuckDB read_csv + CHECKPOINT, $t thread(s)"
    node "$node_dir/duckdb_load.mjs" --csv "$csv" --db "$work/cpu_t$t.duckdb" --threads $t \
      > "$out/ingest_duckdb_t$t.json"
    cat "$out/ingest_duckdb_t$t.json" >&2
  done
  mv -f "$work/cpu_t1.duckdb" "$duck_db"
  rm -f "$work/cpu_t2.duckdb" "$work"/cpu_t*.duckdb.wal
fi

# ---- queries -----------------------------------------------------------------
rm -f "$out/queries.json"
if [ "$only" != ingest ]; then
  say "queries: TSBS cpu-only, $per_type instances per type, interleaved, DuckDB threads $threads"
  qargs=(--db "$duck_db" --threads "$threads" --queries-dir "$work" --passes "$passes" --out "$out/queries.json")
  [ $check = 1 ] && qargs+=(--check-only)
  if [ -x "$bin/query_bench" ] && [ -d "$ours_data" ]; then
    qargs+=(--ours "$bin/query_bench" --ours-data "$ours_data")
  elif [ -x "$bin/query_bench" ]; then
    qargs+=(--ours-missing "no data directory written by ingest_bench ($ours_data)")
  else
    qargs+=(--ours-missing "query_bench is not built: the engine's query path has not landed")
  fi
  node "$node_dir/queries.mjs" "${qargs[@]}" || status=1
fi

# ---- report ------------------------------------------------------------------
node "$node_dir/report.mjs" --dir "$out" || status=1
exit $status
