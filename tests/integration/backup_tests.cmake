# Backup, verify and restore through the strata CLI against the real stratad
# (tests/integration/backup_*.sh): a round trip of every type, escape, NULL, upsert and
# delete into another database, verify catching each kind of change, and the error
# paths. backup_engine_sql opens a stopped server's data directory to apply DELETEs
# (the server's query API is read-only).
if(TARGET stratad AND TARGET strata AND TARGET strata_engine)
  add_executable(backup_engine_sql ${CMAKE_CURRENT_SOURCE_DIR}/backup_engine_sql.c)
  target_link_libraries(backup_engine_sql PRIVATE strata_engine)
  file(GLOB backup_it_scripts ${CMAKE_CURRENT_SOURCE_DIR}/backup_*.sh)
  foreach(script ${backup_it_scripts})
    get_filename_component(n ${script} NAME_WE)
    add_test(NAME it_${n} COMMAND ${script} $<TARGET_FILE:strata> $<TARGET_FILE:stratad>
                                           $<TARGET_FILE:backup_engine_sql>)
    set_tests_properties(it_${n} PROPERTIES LABELS "integration" TIMEOUT 600)
  endforeach()
endif()
