# swmld — the two commands of the quick start, plus a few for developers.
#   make run    install missing Debian packages, build, start swmld on 127.0.0.1
#   make test   install, build, run the whole test suite (unit, golden, end-to-end)
#   make package  build the Debian package $(BUILD)/swmld_<version>_<arch>.deb
# CI=true turns compiler warnings into errors.

BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)
WERROR     := $(if $(filter true 1 yes,$(CI)),ON,OFF)
SWMLD      := $(BUILD)/src/app/swmld

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

# The Debian package (CPack, cmake/SwmldPackage.cmake): binary, configuration, systemd unit,
# examples, man page; Depends from dpkg-shlibdeps. docs/operations.md says how to install it.
package: build
	@cd $(BUILD) && cpack -G DEB

# The test suite built with AddressSanitizer + UBSan (LeakSanitizer included).
asan:
	@$(MAKE) --no-print-directory test BUILD=build-asan BUILD_TYPE=Debug \
	  CMAKE_EXTRA=-DSWMLD_SANITIZE=ON

# libFuzzer targets for the loader and expressions (clang), each run briefly.
fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSWMLD_FUZZ=ON -DSWMLD_TESTS=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_loader fuzz_expression
	@scripts/run-fuzzers build-fuzz

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build build-asan build-fuzz
