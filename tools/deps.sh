#!/usr/bin/env bash
# Installs the Debian 12 packages Strata needs to build and test (apt-get when
# root; otherwise prints the exact command), then the npm packages the
# external-client tests and the benchmark use (when their package.json exists).
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libgrpc-dev libgrpc++-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev
  libssl-dev libjansson-dev libmicrohttpd-dev libzstd-dev zlib1g-dev
  libcurl4-openssl-dev libedit-dev
  nodejs npm python3 python3-grpcio python3-protobuf curl openssl procps
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # a node/npm installed outside apt counts
    case "$p" in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "deps: missing Debian packages. Run:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# npm packages for tests and benchmarks, installed from their lock files.
for dir in "$@"; do
  if [ -f "$dir/package.json" ] && [ ! -d "$dir/node_modules" ]; then
    echo "deps: npm packages in $dir"
    if [ -f "$dir/package-lock.json" ]; then
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    else
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    fi
  fi
done
exit 0
