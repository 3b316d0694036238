# Client and CLI integration tests (tests/integration/client_*.c, cli_*.sh): libstrata
# and the strata CLI against the real stratad on 127.0.0.1:0 (fresh data directory,
# --port-file, --admin-token-file). Registered once stratad and the client exist.
if(TARGET stratad AND TARGET strata_client)
  file(GLOB client_it_sources ${CMAKE_CURRENT_SOURCE_DIR}/client_*.c)
  foreach(src ${client_it_sources})
    get_filename_component(n ${src} NAME_WE)
    strata_unit_test(it_${n} SOURCES ${src} LIBS strata_client m LABELS integration TIMEOUT 600)
    add_dependencies(it_${n} stratad)
  endforeach()
  if(TARGET strata)
    file(GLOB cli_it_scripts ${CMAKE_CURRENT_SOURCE_DIR}/cli_*.sh)
    foreach(script ${cli_it_scripts})
      get_filename_component(n ${script} NAME_WE)
      add_test(NAME it_${n} COMMAND ${script} $<TARGET_FILE:strata> $<TARGET_FILE:stratad>)
      set_tests_properties(it_${n} PROPERTIES LABELS "integration" TIMEOUT 600)
    endforeach()
  endif()
endif()
