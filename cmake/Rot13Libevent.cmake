# ROT13_LIBEVENT_BACKENDS: the event methods libevent can use on this platform, e.g.
# "epoll;poll;select" on Linux or "kqueue;poll;select" on macOS. Each one becomes its own
# conformance target of rot13-libevent-event and rot13-libevent-bufferevent (their
# --backend flag), because the same server on select() and on epoll is a different server.
#
# The list comes from libevent itself: a tiny program calling event_get_supported_methods()
# is built and run at configure time. It names the methods compiled into this libevent,
# which is what `--backend` can choose from. When cross-compiling the program cannot run
# here, so we fall back to what libevent builds by default for the target system.
#
# The result is cached: pass -DROT13_LIBEVENT_BACKENDS=epoll to test one backend only, or
# delete the cache entry to detect again after changing libevent.
# Needs: ROT13_HAVE_LIBEVENT and PkgConfig::LIBEVENT (cmake/Rot13Dependencies.cmake).

function(rot13_libevent_fallback_backends out_var)
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux" OR CMAKE_SYSTEM_NAME STREQUAL "Android")
    set(backends epoll poll select)
  elseif(APPLE OR CMAKE_SYSTEM_NAME MATCHES "BSD|DragonFly")
    set(backends kqueue poll select)
  elseif(CMAKE_SYSTEM_NAME STREQUAL "SunOS")
    set(backends evport devpoll poll select)
  elseif(WIN32)
    set(backends win32)
  else()
    set(backends poll select)
  endif()
  set(${out_var} "${backends}" PARENT_SCOPE)
endfunction()

function(rot13_detect_libevent_backends out_var)
  if(CMAKE_CROSSCOMPILING)
    rot13_libevent_fallback_backends(backends)
    message(STATUS "libevent backends: ${backends} (cross-compiling: assumed for ${CMAKE_SYSTEM_NAME}, not detected)")
    set(${out_var} "${backends}" PARENT_SCOPE)
    return()
  endif()

  # Prints the methods separated by ';', a CMake list.
  set(probe_dir ${CMAKE_BINARY_DIR}/CMakeFiles/rot13_libevent_backends)
  file(WRITE ${probe_dir}/probe.cpp [=[
#include <event2/event.h>
#include <cstdio>
int main() {
    const char** methods = event_get_supported_methods();
    if (!methods) return 1;
    for (int i = 0; methods[i]; ++i) std::printf("%s%s", i ? ";" : "", methods[i]);
    return 0;
}
]=])
  try_run(run_result compile_result ${probe_dir}/build ${probe_dir}/probe.cpp
          LINK_LIBRARIES PkgConfig::LIBEVENT
          COMPILE_OUTPUT_VARIABLE compile_output
          RUN_OUTPUT_VARIABLE run_output)
  if(compile_result AND run_result EQUAL 0 AND NOT run_output STREQUAL "")
    set(backends "${run_output}")
    message(STATUS "libevent backends: ${backends} (from event_get_supported_methods())")
  else()
    rot13_libevent_fallback_backends(backends)
    message(WARNING "Could not run the libevent backend probe (compiled: ${compile_result}, "
                    "exit: ${run_result}); assuming ${backends}.\n${compile_output}")
  endif()
  set(${out_var} "${backends}" PARENT_SCOPE)
endfunction()

if(ROT13_HAVE_LIBEVENT AND NOT DEFINED CACHE{ROT13_LIBEVENT_BACKENDS})
  rot13_detect_libevent_backends(detected)
  set(ROT13_LIBEVENT_BACKENDS "${detected}" CACHE STRING
      "libevent methods (--backend values) to build conformance targets for")
elseif(ROT13_HAVE_LIBEVENT)
  message(STATUS "libevent backends: ${ROT13_LIBEVENT_BACKENDS} (cached ROT13_LIBEVENT_BACKENDS)")
endif()
