# Crash loop through the real server (tests/integration/crashloop_test.py): concurrent
# HTTP writers and a reader, kill -9 of stratad at random moments, restart on the same
# data directory, and checks of every acknowledged batch after each restart. Uses the
# gateway's Python harness (gw_harness.py) and the strata CLI for queries.
if(TARGET stratad AND TARGET strata)
  find_program(CRASHLOOP_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(NOT CRASHLOOP_PYTHON)
    find_program(CRASHLOOP_PYTHON python3)
  endif()
  add_test(NAME crashloop_test
           COMMAND ${CRASHLOOP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/crashloop_test.py)
  set_tests_properties(crashloop_test PROPERTIES LABELS "integration;fault" TIMEOUT 300
    ENVIRONMENT "STRATAD=$<TARGET_FILE:stratad>;STRATA_BIN_DIR=${CMAKE_BINARY_DIR}/bin;PYTHONDONTWRITEBYTECODE=1;PYTHONPATH=${CMAKE_CURRENT_SOURCE_DIR}")
endif()
