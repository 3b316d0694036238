# Strata: the README's two commands are `make run` and `make test`.
# This Makefile is thin: it installs dependencies, drives CMake, and starts
# things. The build itself is CMakeLists.txt.

BUILD      ?= build
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
DATA_DIR   ?= ./strata-data
LISTEN     ?= 127.0.0.1:8181
NPM_DIRS   := tests/node bench/node

.PHONY: all deps build run test test-fast sanitize fuzz bench clean help

all: build

help:
	@echo "make run        install deps, build, start stratad on $(DATA_DIR) at $(LISTEN)"
	@echo "make test       install deps, build (warnings are errors), run the whole suite, then again under ASan+UBSan"
	@echo "make test-fast  the whole suite once, without the sanitizer pass"
	@echo "make bench      build optimised, run the benchmarks against DuckDB"
	@echo "make sanitize   only the ASan+UBSan pass (build-asan/)"
	@echo "make fuzz       build libFuzzer targets with clang and run each for FUZZ_SECONDS"
	@echo "make deps       install Debian and npm packages (apt-get when root)"

deps:
	@tools/deps.sh $(NPM_DIRS)

build:
	@cmake -S . -B $(BUILD) -DSTRATA_WERROR=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: deps build
	@exec $(BUILD)/bin/stratad --data-dir $(DATA_DIR) --listen $(LISTEN) \
	      --admin-token-file $(DATA_DIR)/operator-token

# The whole suite, then the whole suite again built with ASan+UBSan (CI runs this).
test: test-fast sanitize

# The whole suite once, in the normal build.
test-fast: deps build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The whole suite built with AddressSanitizer and UndefinedBehaviorSanitizer, in build-asan/.
sanitize: deps
	@$(MAKE) --no-print-directory BUILD=build-asan CMAKE_ARGS="-DSTRATA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug" test-fast

FUZZ_SECONDS ?= 60
# clang++ as well: STRATA_FUZZ gives the gateway's C++ shim -fsanitize=fuzzer-no-link, which g++
# refuses. docs/testing.md describes the targets and the campaign figures.
fuzz: deps
	@cmake -S . -B build-fuzz -DSTRATA_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@tools/fuzz.sh build-fuzz $(FUZZ_SECONDS)

bench: deps
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSTRATA_NATIVE=ON >/dev/null
	@cmake --build build-bench -j $(JOBS)
	@bench/run.sh build-bench
	@bench/gateway/run.sh build-bench

clean:
	rm -rf $(BUILD) build-asan build-fuzz build-bench
