# Gateway integration tests (tests/integration/gw_*.py, tests/python/gw_*.py,
# tests/node/gw_*.mjs): each starts the real stratad on 127.0.0.1:0 with a fresh data
# directory and --port-file (gw_harness.py). Registered once stratad exists.
if(TARGET stratad)
  # Debian's python3 (python3-grpcio installs only for the system interpreter).
  find_program(GW_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(NOT GW_PYTHON)
    find_program(GW_PYTHON python3)
  endif()
  set(gw_it_env "STRATAD=$<TARGET_FILE:stratad>" "PYTHONDONTWRITEBYTECODE=1"
                "STRATA_BIN_DIR=${CMAKE_BINARY_DIR}/bin")
  file(GLOB gw_py_tests ${CMAKE_CURRENT_SOURCE_DIR}/gw_*_test.py
                        ${PROJECT_SOURCE_DIR}/tests/python/gw_*_test.py)
  foreach(t ${gw_py_tests})
    get_filename_component(n ${t} NAME_WE)
    add_test(NAME ${n} COMMAND ${GW_PYTHON} ${t})
    set_tests_properties(${n} PROPERTIES LABELS "integration" TIMEOUT 600
      ENVIRONMENT "${gw_it_env};PYTHONPATH=${CMAKE_CURRENT_SOURCE_DIR}:${PROJECT_SOURCE_DIR}/tests/python")
  endforeach()
  find_program(GW_NODE node)
  file(GLOB gw_node_tests ${PROJECT_SOURCE_DIR}/tests/node/gw_*.test.mjs)
  if(GW_NODE)
    foreach(t ${gw_node_tests})
      get_filename_component(n ${t} NAME)
      string(REGEX REPLACE "\\.test\\.mjs$" "" n "${n}")
      add_test(NAME node_${n} COMMAND ${GW_NODE} --test ${t})
      set_tests_properties(node_${n} PROPERTIES LABELS "integration" TIMEOUT 600
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/node ENVIRONMENT "${gw_it_env}")
    endforeach()
  endif()

  # The SQL logic files through the gateway: the sqllogic runner linked with a backend
  # that starts stratad and talks to it with the C client (gw_slt_backend.c). Files using
  # directives the gateway cannot express are left to the in-process run.
  if(TARGET strata_client AND EXISTS ${PROJECT_SOURCE_DIR}/tests/sqllogic/runner.c)
    set(slt_dir ${PROJECT_SOURCE_DIR}/tests/sqllogic)
    add_executable(gw_sqllogic_runner ${slt_dir}/runner.c ${slt_dir}/slt_parse.c
                   ${slt_dir}/slt_result.c ${CMAKE_CURRENT_SOURCE_DIR}/gw_slt_backend.c)
    target_include_directories(gw_sqllogic_runner PRIVATE ${slt_dir})
    target_link_libraries(gw_sqllogic_runner PRIVATE strata_client strata_base)
    file(GLOB gw_slt_files CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/sql/*.test)
    list(SORT gw_slt_files)
    foreach(f ${gw_slt_files})
      file(STRINGS ${f} gw_slt_unsupported REGEX
           "^now |^database -|^option (cancel|deadline_ns|read_only|max_result_bytes|batch_rows)|^param [A-Za-z_0-9]+ time|DELETE")
      if(gw_slt_unsupported)
        continue()
      endif()
      get_filename_component(n ${f} NAME_WE)
      add_test(NAME gw_sql_${n} COMMAND gw_sqllogic_runner ${f})
      set_tests_properties(gw_sql_${n} PROPERTIES LABELS "integration;sql" TIMEOUT 300
        ENVIRONMENT "${gw_it_env}")
    endforeach()
  endif()
endif()
