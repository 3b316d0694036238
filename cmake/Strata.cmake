# Shared build settings and helpers for Strata modules.

add_compile_definitions(_GNU_SOURCE)
set(STRATA_WARNINGS -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wformat=2 -Wvla -Wno-unused-parameter -Wno-missing-field-initializers)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  list(APPEND STRATA_WARNINGS -Wno-format-truncation) # snprintf truncation is deliberate
endif()
if(STRATA_WERROR)
  list(APPEND STRATA_WARNINGS -Werror)
endif()
add_compile_options("$<$<COMPILE_LANGUAGE:C>:${STRATA_WARNINGS}>")
add_compile_options(-fno-omit-frame-pointer)
if(CMAKE_BUILD_TYPE MATCHES "Rel")
  add_compile_options(-O2)
endif()
if(STRATA_NATIVE)
  add_compile_options(-march=native -O3)
endif()
if(STRATA_FUZZ)
  # Instrument every library for coverage so libFuzzer sees inside them, not
  # only the harness; the fuzz binaries add the libFuzzer main themselves.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(STRATA_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

# strata_module(<name> SOURCES <files...> [DEPS <targets...>] [PRIVATE_DEPS <targets...>])
# A static library with a public include/ directory and private internals:
# other modules see only include/, so *_int.h headers cannot be reached.
function(strata_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${M_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                     PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  if(M_DEPS)
    target_link_libraries(${name} PUBLIC ${M_DEPS})
  endif()
  if(M_PRIVATE_DEPS)
    target_link_libraries(${name} PRIVATE ${M_PRIVATE_DEPS})
  endif()
endfunction()

# strata_unit_test(<name> SOURCES <files...> LIBS <targets...> [PRIVATE_DIRS <dirs>] [LABELS <l>] [TIMEOUT <s>])
# One test executable per module, run through ctest; each TEST() runs in a
# forked child with its own temporary directory (tests/harness/th.h).
function(strata_unit_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;PRIVATE_DIRS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE strata_th ${T_LIBS})
  if(T_PRIVATE_DIRS)
    target_include_directories(${name} PRIVATE ${T_PRIVATE_DIRS})
  endif()
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
endfunction()

# strata_fuzz_target(<name> SOURCES <files...> LIBS <targets...> [PRIVATE_DIRS <dirs>])
# The source defines LLVMFuzzerTestOneInput. With STRATA_FUZZ (clang) it
# becomes a libFuzzer binary fuzz_<name>; in every build a replay binary
# fuzz_<name>_replay runs each file of tests/fuzz/corpus/<name>/ through the
# same function, and ctest runs it, so the corpus and every crash ever found
# are regression tests with any compiler.
function(strata_fuzz_target name)
  cmake_parse_arguments(F "" "" "SOURCES;LIBS;PRIVATE_DIRS" ${ARGN})
  set(corpus ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${name})
  add_executable(fuzz_${name}_replay ${F_SOURCES} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.c)
  target_link_libraries(fuzz_${name}_replay PRIVATE ${F_LIBS})
  if(F_PRIVATE_DIRS)
    target_include_directories(fuzz_${name}_replay PRIVATE ${F_PRIVATE_DIRS})
  endif()
  add_test(NAME fuzz_replay_${name} COMMAND fuzz_${name}_replay ${corpus})
  set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS "fuzz-replay" TIMEOUT 300)
  if(STRATA_FUZZ)
    add_executable(fuzz_${name} ${F_SOURCES})
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${name} PRIVATE ${F_LIBS})
    if(F_PRIVATE_DIRS)
      target_include_directories(fuzz_${name} PRIVATE ${F_PRIVATE_DIRS})
    endif()
  endif()
endfunction()
