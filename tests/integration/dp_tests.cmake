# Data-protection integration tests (tests/integration/dp_*_test.py): encryption at rest
# through the real server (a new data directory gets its key, no plaintext on disk, wrong
# keys and modes refused with nothing changed, migration), master key rotation with a
# restart on the new key alone and a kill -9 in the middle, the scrub (a damaged chunk
# byte: DATA_LOSS naming the block, quarantine, `strata verify`, /metrics), the integrity
# service (green, an injected failure, damaged canaries on disk), and DELETE as a Flight
# SQL update. Each test starts its own stratad on 127.0.0.1:0 (dp_harness.py).
if(TARGET stratad AND TARGET strata)
  find_program(DP_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(NOT DP_PYTHON)
    find_program(DP_PYTHON python3)
  endif()
  file(GLOB dp_py_tests ${CMAKE_CURRENT_SOURCE_DIR}/dp_*_test.py)
  foreach(t ${dp_py_tests})
    get_filename_component(n ${t} NAME_WE)
    add_test(NAME ${n} COMMAND ${DP_PYTHON} ${t})
    set_tests_properties(${n} PROPERTIES LABELS "integration;data-protection" TIMEOUT 600
      ENVIRONMENT "STRATAD=$<TARGET_FILE:stratad>;STRATA_BIN_DIR=${CMAKE_BINARY_DIR}/bin;PYTHONDONTWRITEBYTECODE=1;PYTHONPATH=${CMAKE_CURRENT_SOURCE_DIR}")
  endforeach()
endif()
