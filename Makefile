# swmld — the two commands of the quick start, plus a few for developers.
#   make run    install missing Debian packages, build, start swmld on 127.0.0.1
#   make test   install, build, run the whole test suite (unit, golden, end-to-end), then
#               each fuzz target for 10 s (a clang tree in build-fuzz)
#   make package  build the Debian package $(BUILD)/swmld_<version>_<arch>.deb
# CI=true turns compiler warnings into errors.

BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)
WERROR     := $(if $(filter true 1 yes,$(CI)),ON,OFF)
SWMLD      := $(BUILD)/src/app/swmld
# Seconds each libFuzzer target runs: `make fuzz` (long local runs), `make test` (brief).
FUZZ_SECONDS      ?= 600
TEST_FUZZ_SECONDS ?= 10

.PHONY: all deps build run test package asan fuzz format clean
MAKEFLAGS += --no-print-directory

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DSWMLD_WERROR=$(WERROR) $(CMAKE_EXTRA) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@scripts/run-example $(SWMLD)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300
	@$(if $(NO_FUZZ),,$(MAKE) fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS))

# The Debian package (CPack, cmake/SwmldPackage.cmake): binary, configuration, systemd unit,
# examples, man page; Depends from dpkg-shlibdeps. docs/operations.md says how to install it.
package: build
	@cd $(BUILD) && cpack -G DEB

# The test suite built with AddressSanitizer + UBSan (LeakSanitizer included). The fuzz
# targets, already built with both, ran in `make test`.
asan:
	@$(MAKE) --no-print-directory test BUILD=build-asan BUILD_TYPE=Debug \
	  CMAKE_EXTRA=-DSWMLD_SANITIZE=ON NO_FUZZ=1

# The libFuzzer targets (tests/fuzz: documents, expressions, SDP, sipfrag/INFO bodies,
# configuration, `request` responses), built with clang + ASan/UBSan, each run FUZZ_SECONDS
# from its seeds in tests/fuzz/corpus/ (scripts/run-fuzzers; crashes: build-fuzz/fuzz-artifacts).
fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSWMLD_FUZZ=ON -DSWMLD_TESTS=ON -DSWMLD_WERROR=$(WERROR) $(FUZZ_CMAKE_EXTRA) >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzzers
	@cd build-fuzz && FUZZ_SECONDS=$(FUZZ_SECONDS) ctest -R '^fuzz/' -j $(JOBS) \
	  --output-on-failure --timeout $$(( $(FUZZ_SECONDS) + 300 ))

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build build-asan build-fuzz
