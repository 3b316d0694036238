#!/bin/sh
# run_node_arrow.sh FIXTURES_BIN NODE_DIR OUT_DIR
# Writes the Arrow fixtures with Strata's encoder, then has the real
# apache-arrow npm package decode them (tests/node/arrow_decode.test.mjs).
# Exit 77 (ctest SKIP) only when node itself is missing; missing npm
# packages are a failure, because `make test` installs them (tools/deps.sh).
set -eu
fixtures_bin=$1
node_dir=$2
out=$3
if ! command -v node >/dev/null 2>&1; then
    echo "node is not installed: skipping the apache-arrow check"
    exit 77
fi
if [ ! -d "$node_dir/node_modules/apache-arrow" ]; then
    echo "apache-arrow is not installed in $node_dir/node_modules: run 'make deps'" >&2
    exit 1
fi
rm -rf "$out"
mkdir -p "$out"
"$fixtures_bin" "$out"
ARROW_FIXTURES="$out" exec node --test "$node_dir/arrow_decode.test.mjs"
