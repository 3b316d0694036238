#!/bin/sh
# run_node_arrow.sh FIXTURES_BIN NODE_DIR OUT_DIR [TEST_SCRIPT [DIR_VAR]]
# Writes the Arrow fixtures with Strata's encoder, then has the real
# apache-arrow npm package decode them (TEST_SCRIPT in NODE_DIR, by default
# arrow_decode.test.mjs, which finds the fixtures in $DIR_VAR, by default
# ARROW_FIXTURES).
# Exit 77 (ctest SKIP) only when node itself is missing; missing npm
# packages are a failure, because `make test` installs them (tools/deps.sh).
set -eu
fixtures_bin=$1
node_dir=$2
out=$3
script=${4:-arrow_decode.test.mjs}
dir_var=${5:-ARROW_FIXTURES}
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
env "$dir_var=$out" node --test "$node_dir/$script"
