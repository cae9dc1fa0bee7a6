# Compiler options shared by every swmld target: warnings, sanitizers, fuzzing.

if(SWMLD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

if(SWMLD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "SWMLD_FUZZ needs clang: configure with CXX=clang++ CC=clang")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# swmld_target_options(<target>): the warning set of the project's own code.
function(swmld_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
    -Wnon-virtual-dtor -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wshadow=local)  # clang (the fuzz tree) lacks it
    # GCC 12 at -O2 flags Boost.Asio's coroutine frame allocator (awaitable_frame_base's
    # sized operator delete) as mismatched new/delete: a known false positive with C++20
    # coroutines, not a defect of ours.
    target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete)
  endif()
  if(SWMLD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# swmld_module(<name> [LIBS ...]): a module library built from every .cpp in the current
# source directory (sub-folders included), with the project's include path and warnings.
function(swmld_module name)
  cmake_parse_arguments(M "" "" "LIBS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(srcs)
    add_library(${name} STATIC ${srcs})
    target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(${name} PUBLIC ${M_LIBS})
    swmld_target_options(${name})
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(${name} INTERFACE ${M_LIBS})
  endif()
endfunction()
