# Every external library comes from Debian 12 packages (scripts/install-deps).

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(yaml-cpp 0.7 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog 1.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(CURL REQUIRED)
find_package(OpenSSL REQUIRED)
pkg_check_modules(SOFIA REQUIRED IMPORTED_TARGET sofia-sip-ua)
# Media (all LGPL or permissive, linked as shared libraries): G.711 and tones (spandsp),
# decoding (libsndfile: WAV, FLAC, OGG, MP3), resampling (libsoxr), TTS (Flite).
pkg_check_modules(SPANDSP REQUIRED IMPORTED_TARGET spandsp)
pkg_check_modules(SNDFILE REQUIRED IMPORTED_TARGET sndfile)
pkg_check_modules(SOXR REQUIRED IMPORTED_TARGET soxr)
pkg_check_modules(SPEEXDSP REQUIRED IMPORTED_TARGET speexdsp)  # voice activity (recordings)
find_library(FLITE_LIB flite REQUIRED)
find_library(FLITE_USENGLISH_LIB flite_usenglish REQUIRED)
find_library(FLITE_CMULEX_LIB flite_cmulex REQUIRED)
find_library(FLITE_KAL_LIB flite_cmu_us_kal REQUIRED)
find_library(FLITE_SLT_LIB flite_cmu_us_slt REQUIRED)
find_library(FLITE_AWB_LIB flite_cmu_us_awb REQUIRED)
find_library(FLITE_RMS_LIB flite_cmu_us_rms REQUIRED)
add_library(swmld_flite INTERFACE)
target_link_libraries(swmld_flite INTERFACE ${FLITE_KAL_LIB} ${FLITE_SLT_LIB} ${FLITE_AWB_LIB}
  ${FLITE_RMS_LIB} ${FLITE_USENGLISH_LIB} ${FLITE_CMULEX_LIB} ${FLITE_LIB} m)
if(SWMLD_JEMALLOC AND (SWMLD_SANITIZE OR SWMLD_FUZZ))
  message(STATUS "swmld: jemalloc off (sanitizers replace malloc)")
  set(SWMLD_JEMALLOC OFF)
endif()
if(SWMLD_JEMALLOC)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
endif()

# Duktape: Debian ships the single-file source beside the shared library. We compile it
# ourselves with a patched copy of its generated duk_config.h that turns on the interrupt
# counter and the execution-timeout hook, which the sandbox needs to stop endless loops.
# Nothing is vendored: the source is read from the installed package at configure time.
set(DUKTAPE_SRC_DIR /usr/share/duktape)
if(NOT EXISTS ${DUKTAPE_SRC_DIR}/duktape.c)
  message(FATAL_ERROR "duktape-dev is missing ${DUKTAPE_SRC_DIR}/duktape.c (run scripts/install-deps)")
endif()
set(DUKTAPE_GEN_DIR ${CMAKE_BINARY_DIR}/duktape)
file(READ ${DUKTAPE_SRC_DIR}/duk_config.h duk_config)
string(REPLACE "#undef DUK_USE_INTERRUPT_COUNTER" "#define DUK_USE_INTERRUPT_COUNTER" duk_config "${duk_config}")
string(REPLACE "#undef DUK_USE_EXEC_TIMEOUT_CHECK"
  "#if defined(__cplusplus)\nextern \"C\" {\n#endif\nextern int swmld_duk_exec_timeout_check(void *udata);\n#if defined(__cplusplus)\n}\n#endif\n#define DUK_USE_EXEC_TIMEOUT_CHECK(udata) swmld_duk_exec_timeout_check(udata)"
  duk_config "${duk_config}")
file(WRITE ${DUKTAPE_GEN_DIR}/duk_config.h.new "${duk_config}")
configure_file(${DUKTAPE_GEN_DIR}/duk_config.h.new ${DUKTAPE_GEN_DIR}/duk_config.h COPYONLY)
configure_file(${DUKTAPE_SRC_DIR}/duktape.h ${DUKTAPE_GEN_DIR}/duktape.h COPYONLY)
# The regex engine is not covered by the timeout hook: bound its steps (a catastrophic
# pattern then fails with a RangeError instead of running for seconds).
file(READ ${DUKTAPE_SRC_DIR}/duktape.c duk_source)
string(REPLACE "#define DUK_RE_EXECUTE_STEPS_LIMIT 1000000000L" "#define DUK_RE_EXECUTE_STEPS_LIMIT 10000000L"
  duk_source "${duk_source}")
file(WRITE ${DUKTAPE_GEN_DIR}/duktape.c.new "${duk_source}")
configure_file(${DUKTAPE_GEN_DIR}/duktape.c.new ${DUKTAPE_GEN_DIR}/duktape.c COPYONLY)
add_library(swmld_duktape STATIC ${DUKTAPE_GEN_DIR}/duktape.c)
target_include_directories(swmld_duktape SYSTEM PUBLIC ${DUKTAPE_GEN_DIR})
target_compile_options(swmld_duktape PRIVATE -w)
set_target_properties(swmld_duktape PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_link_libraries(swmld_duktape PUBLIC m)
