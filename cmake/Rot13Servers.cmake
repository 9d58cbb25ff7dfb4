# rot13_add_server(NAME SOURCES src... [LIBS lib...] [BACKENDS b...] [CONFIGS label:flag...] [CAP text]
#                  [NOTE text])
#
# Makes build/bin/rot13-NAME from one self-contained server file plus rot13_common, and
# registers it with the conformance suite (tests/conformance). BACKENDS lists the values
# of --backend to test separately: each backend becomes its own conformance target. CAP
# names a documented hard connection limit (e.g. "FD_SETSIZE"): the conformance suite then
# accepts that extra connections are refused cleanly instead of served. CONFIGS adds
# conformance targets run with an extra flag, e.g. CONFIGS edge:--edge tests
# `rot13-epoll --edge` as the target "epoll/edge". NOTE says how this build provides the
# variant when that is not the platform's own mechanism, e.g. "libkqueue on Linux": the
# harness then names the variant "kqueue (libkqueue on Linux)" in lists, results and charts.
#
# rot13_skip_server(NAME REASON) records a variant that is not built here and why; the
# summary printed at the end of configure lists both.
function(rot13_add_server NAME)
  cmake_parse_arguments(ARG "" "CAP;NOTE" "SOURCES;LIBS;BACKENDS;CONFIGS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "rot13_add_server(${NAME}): SOURCES is required")
  endif()
  set(target rot13-${NAME})
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE rot13_common ${ARG_LIBS})
  set_property(GLOBAL APPEND PROPERTY ROT13_SERVERS ${NAME})
  set_property(GLOBAL PROPERTY ROT13_SERVER_${NAME}_BACKENDS "${ARG_BACKENDS}")
  set_property(GLOBAL PROPERTY ROT13_SERVER_${NAME}_CONFIGS "${ARG_CONFIGS}")
  set_property(GLOBAL PROPERTY ROT13_SERVER_${NAME}_CAP "${ARG_CAP}")
  set_property(GLOBAL PROPERTY ROT13_SERVER_${NAME}_NOTE "${ARG_NOTE}")
endfunction()

function(rot13_skip_server NAME REASON)
  set_property(GLOBAL APPEND PROPERTY ROT13_SKIPPED_SERVERS ${NAME})
  set_property(GLOBAL PROPERTY ROT13_SKIPPED_${NAME}_REASON "${REASON}")
endfunction()

# Writes build/servers.txt (read by `rot13-bench list` and scripts) and prints the summary.
# servers.txt: one line per variant, name<TAB>built|skipped<TAB>backends,csv<TAB>cap or
# reason[<TAB>note] (the NOTE of rot13_add_server, built variants only).
function(rot13_print_server_summary)
  get_property(built GLOBAL PROPERTY ROT13_SERVERS)
  get_property(skipped GLOBAL PROPERTY ROT13_SKIPPED_SERVERS)
  set(lines "")
  message(STATUS "rot13bench server variants:")
  foreach(name IN LISTS built)
    get_property(backends GLOBAL PROPERTY ROT13_SERVER_${name}_BACKENDS)
    get_property(cap GLOBAL PROPERTY ROT13_SERVER_${name}_CAP)
    get_property(note GLOBAL PROPERTY ROT13_SERVER_${name}_NOTE)
    string(REPLACE ";" "," backends_csv "${backends}")
    set(shown "")
    if(note)
      set(shown " (${note})")
    endif()
    message(STATUS "  built    rot13-${name}${shown}  backends: ${backends_csv}  cap: ${cap}")
    string(APPEND lines "${name}\tbuilt\t${backends_csv}\t${cap}\t${note}\n")
  endforeach()
  foreach(name IN LISTS skipped)
    get_property(reason GLOBAL PROPERTY ROT13_SKIPPED_${name}_REASON)
    message(STATUS "  skipped  rot13-${name}  (${reason})")
    string(APPEND lines "${name}\tskipped\t\t${reason}\n")
  endforeach()
  file(WRITE ${CMAKE_BINARY_DIR}/servers.txt "${lines}")
endfunction()
