# Backup, verify and restore through the strata CLI against the real stratad
# (tests/integration/backup_*.sh): a round trip of every type, escape, NULL, upsert and
# delete into another database, verify catching each kind of change, and the error
# paths. Rows are deleted through the server (DELETE as a Flight SQL update).
if(TARGET stratad AND TARGET strata)
  file(GLOB backup_it_scripts ${CMAKE_CURRENT_SOURCE_DIR}/backup_*.sh)
  foreach(script ${backup_it_scripts})
    get_filename_component(n ${script} NAME_WE)
    add_test(NAME it_${n} COMMAND ${script} $<TARGET_FILE:strata> $<TARGET_FILE:stratad>)
    set_tests_properties(it_${n} PROPERTIES LABELS "integration" TIMEOUT 600)
  endforeach()
endif()
