# Security integration tests (tests/integration/sec_*_test.py, tests/node/sec_*.test.mjs):
# the role matrix derived from `stratad --print-method-table`, the attack catalogue of
# research/security-anchors.md s. 2 through the running server (opaque tokens, JWTs minted
# in the tests against a JWKS served as a file and over HTTPS discovery with a test CA,
# escalation, tenants, names, resource limits), the policy store and the audit log across
# restarts, and a search of every log, metric and answer for the secrets used. Each test
# starts its own stratad on 127.0.0.1:0 (gw_harness.py / sec_harness.py). Labels
# integration and security.
if(TARGET stratad AND TARGET strata)
  find_program(SEC_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(NOT SEC_PYTHON)
    find_program(SEC_PYTHON python3)
  endif()
  set(sec_env "STRATAD=$<TARGET_FILE:stratad>" "PYTHONDONTWRITEBYTECODE=1"
              "STRATA_BIN_DIR=${CMAKE_BINARY_DIR}/bin")
  file(GLOB sec_py_tests ${CMAKE_CURRENT_SOURCE_DIR}/sec_*_test.py
                         ${CMAKE_CURRENT_SOURCE_DIR}/rbac_*_test.py)
  foreach(t ${sec_py_tests})
    get_filename_component(n ${t} NAME_WE)
    add_test(NAME ${n} COMMAND ${SEC_PYTHON} ${t})
    set_tests_properties(${n} PROPERTIES LABELS "integration;security" TIMEOUT 600
      ENVIRONMENT "${sec_env};PYTHONPATH=${CMAKE_CURRENT_SOURCE_DIR}")
  endforeach()
  find_program(SEC_NODE node)
  file(GLOB sec_node_tests ${PROJECT_SOURCE_DIR}/tests/node/sec_*.test.mjs)
  if(SEC_NODE)
    foreach(t ${sec_node_tests})
      get_filename_component(n ${t} NAME)
      string(REGEX REPLACE "\\.test\\.mjs$" "" n "${n}")
      add_test(NAME node_${n} COMMAND ${SEC_NODE} --test ${t})
      set_tests_properties(node_${n} PROPERTIES LABELS "integration;security" TIMEOUT 600
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/node
        ENVIRONMENT "${sec_env};STRATA_CLI=${CMAKE_BINARY_DIR}/bin/strata")
    endforeach()
  endif()
endif()
