# Flight SQL and keep-alive tests against the real stratad (tests/node/flightsql_*.test.mjs,
# tests/node/keepalive_*.test.mjs): each starts stratad on 127.0.0.1:0 (gw_server.mjs) and
# talks to it through @grpc/grpc-js, apache-arrow and @influxdata/influxdb3-client.
# flightsql_nested_decode.test.mjs is not here: it decodes encoder fixtures and is run by
# tests/unit/arrow (node_arrow_nested_decode).
if(TARGET stratad)
  find_program(FSQL_NODE node)
  file(GLOB fsql_node_tests ${PROJECT_SOURCE_DIR}/tests/node/flightsql_*.test.mjs
                            ${PROJECT_SOURCE_DIR}/tests/node/keepalive_*.test.mjs)
  list(FILTER fsql_node_tests EXCLUDE REGEX "flightsql_nested_decode")
  if(FSQL_NODE)
    foreach(t ${fsql_node_tests})
      get_filename_component(n ${t} NAME)
      string(REGEX REPLACE "\\.test\\.mjs$" "" n "${n}")
      add_test(NAME node_${n} COMMAND ${FSQL_NODE} --test ${t})
      set_tests_properties(node_${n} PROPERTIES LABELS "integration" TIMEOUT 600
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/node
        ENVIRONMENT "STRATAD=$<TARGET_FILE:stratad>")
    endforeach()
  endif()
endif()
