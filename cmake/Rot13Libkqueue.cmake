# kqueue for the kqueue server and rot13-micro's kqueue dispatcher. Sets:
#   ROT13_HAVE_KQUEUE       ON when <sys/event.h> and kqueue() can be used
#   ROT13_KQUEUE_LIBS       what to link for it (empty for the system's kqueue)
#   ROT13_KQUEUE_NOTE       "" for the system's kqueue; "libkqueue on Linux" for the emulation
#   ROT13_NO_KQUEUE_REASON  why not, when ROT13_HAVE_KQUEUE is OFF
#   ROT13_LIBKQUEUE_VERSION libkqueue's version when it is used, e.g. "2.7.0-gf966089"
#
# macOS and the BSDs have kqueue in the kernel: nothing to do. Linux has none, but
# libkqueue (a userspace kqueue on top of epoll, github.com/mheily/libkqueue) gives its API,
# so that kqueue.cpp can be compiled against a real <sys/event.h> and run through the
# conformance suite here. Debian does not package it and the build downloads nothing, so
# it is built from a source tarball when one is found (/work/shared/third_party on the
# project's machines, where the tarball has its README):
#   1. ROT13_THIRD_PARTY_DIR (the cache variable, else the environment variable), else
#   2. shared/third_party in the source directory or any directory above it.
# The tarball is unpacked and built into the build tree (never the source tree), static,
# at configure time: about 10 s once, so that this configure already knows whether kqueue
# exists and can say so. A stamp (the tarball's SHA-256 and the compiler) skips the build
# when nothing changed. Its timings are epoll's plus an emulation layer, not kqueue's:
# ROT13_KQUEUE_NOTE makes every list, results file and chart say so.
# Needs: ROT13_HAVE_SYS_EVENT_H (cmake/Rot13Dependencies.cmake).

set(ROT13_HAVE_KQUEUE OFF)
set(ROT13_KQUEUE_LIBS "")
set(ROT13_KQUEUE_NOTE "")
set(ROT13_LIBKQUEUE_VERSION "")
set(ROT13_NO_KQUEUE_REASON "kqueue exists only on macOS and the BSDs (no sys/event.h)")

set(ROT13_THIRD_PARTY_DIR "" CACHE PATH
    "Where to look for third-party source tarballs (libkqueue-*.tar.gz); empty: $ENV{ROT13_THIRD_PARTY_DIR}, else shared/third_party above the source tree")

# Prints the path of the newest libkqueue-*.tar.gz into out_var, or "" with the places
# searched in reason_var.
function(rot13_find_libkqueue_tarball out_var reason_var)
  set(dirs "")
  set(given "${ROT13_THIRD_PARTY_DIR}")
  if(NOT given)
    set(given "$ENV{ROT13_THIRD_PARTY_DIR}")
  endif()
  if(given)
    list(APPEND dirs "${given}")
  else()
    set(dir "${PROJECT_SOURCE_DIR}")
    while(TRUE)
      if(IS_DIRECTORY "${dir}/shared/third_party")
        list(APPEND dirs "${dir}/shared/third_party")
      endif()
      get_filename_component(parent "${dir}" DIRECTORY)
      if(parent STREQUAL dir)
        break()
      endif()
      set(dir "${parent}")
    endwhile()
  endif()
  foreach(dir IN LISTS dirs)
    file(GLOB found "${dir}/libkqueue-*.tar.gz")
    if(found)
      list(SORT found COMPARE NATURAL ORDER DESCENDING)
      list(GET found 0 newest)
      set(${out_var} "${newest}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  if(given)
    set(where "in ROT13_THIRD_PARTY_DIR=${given}")
  else()
    set(where "in shared/third_party above ${PROJECT_SOURCE_DIR}; set ROT13_THIRD_PARTY_DIR to its directory")
  endif()
  set(${out_var} "" PARENT_SCOPE)
  set(${reason_var} "no libkqueue-*.tar.gz found ${where}" PARENT_SCOPE)
endfunction()

# Unpacks and builds the tarball into dir (dir/src, dir/build) unless dir/stamp says that
# this tarball was built there with this compiler. Sets ok_var, and reason_var on failure.
function(rot13_build_libkqueue tarball dir ok_var reason_var)
  file(SHA256 "${tarball}" sha)
  set(stamp_text "${tarball}\n${sha}\n${CMAKE_C_COMPILER}\n${CMAKE_TOOLCHAIN_FILE}\n")
  set(library "${dir}/build/libkqueue.a")
  if(EXISTS "${dir}/stamp" AND EXISTS "${library}")
    file(READ "${dir}/stamp" old_stamp)
    if(old_stamp STREQUAL stamp_text)
      set(${ok_var} ON PARENT_SCOPE)
      return()
    endif()
  endif()

  message(STATUS "libkqueue: building ${tarball} into ${dir} (once; about 10 s)")
  file(REMOVE_RECURSE "${dir}")
  file(MAKE_DIRECTORY "${dir}/src")
  set(log "${dir}/build.log")
  execute_process(COMMAND ${CMAKE_COMMAND} -E tar xzf "${tarball}"
                  WORKING_DIRECTORY "${dir}/src" RESULT_VARIABLE failed OUTPUT_FILE "${log}" ERROR_FILE "${log}")
  file(GLOB source_dirs LIST_DIRECTORIES true "${dir}/src/*")
  list(LENGTH source_dirs count)
  if(failed OR NOT count EQUAL 1)
    set(${ok_var} OFF PARENT_SCOPE)
    set(${reason_var} "cannot unpack ${tarball} (one top directory expected; see ${log})" PARENT_SCOPE)
    return()
  endif()

  # The same C compiler (and toolchain, for a cross or libc++ build) as this project.
  # Static only, no tests. libkqueue asks git for its version; GIT_CEILING_DIRECTORIES
  # keeps git from answering with the commit of the repository this build tree is in.
  set(args -S "${source_dirs}" -B "${dir}/build" -DCMAKE_BUILD_TYPE=Release -DENABLE_TESTING=NO
           -DENABLE_SHARED=OFF -DENABLE_STATIC=ON "-DCMAKE_C_COMPILER=${CMAKE_C_COMPILER}")
  if(CMAKE_TOOLCHAIN_FILE)
    list(APPEND args "-DCMAKE_TOOLCHAIN_FILE=${CMAKE_TOOLCHAIN_FILE}")
  endif()
  if(CMAKE_C_COMPILER_LAUNCHER)
    list(APPEND args "-DCMAKE_C_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER}")
  endif()
  foreach(step "${args}" "--build;${dir}/build;--parallel")
    execute_process(COMMAND ${CMAKE_COMMAND} -E env "GIT_CEILING_DIRECTORIES=${dir}/src" ${CMAKE_COMMAND} ${step}
                    RESULT_VARIABLE failed OUTPUT_VARIABLE out ERROR_VARIABLE out)
    file(APPEND "${log}" "${out}")
    if(failed)
      set(${ok_var} OFF PARENT_SCOPE)
      set(${reason_var} "building libkqueue from ${tarball} failed (see ${log})" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  if(NOT EXISTS "${library}" OR NOT EXISTS "${dir}/build/include/sys/event.h")
    set(${ok_var} OFF PARENT_SCOPE)
    set(${reason_var} "libkqueue built, but ${library} or include/sys/event.h is missing (see ${log})" PARENT_SCOPE)
    return()
  endif()
  file(WRITE "${dir}/stamp" "${stamp_text}")
  set(${ok_var} ON PARENT_SCOPE)
endfunction()

if(ROT13_HAVE_SYS_EVENT_H)
  set(ROT13_HAVE_KQUEUE ON)
  message(STATUS "kqueue: the system's (sys/event.h)")
elseif(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  rot13_find_libkqueue_tarball(tarball reason)
  if(NOT tarball)
    set(ROT13_NO_KQUEUE_REASON "Linux has no kqueue, and libkqueue was not built: ${reason}")
  else()
    message(STATUS "kqueue: libkqueue from ${tarball}")
    set(dir "${CMAKE_BINARY_DIR}/third_party/libkqueue")
    rot13_build_libkqueue("${tarball}" "${dir}" built reason)
    if(NOT built)
      set(ROT13_NO_KQUEUE_REASON "Linux has no kqueue, and libkqueue was not built: ${reason}")
    else()
      # A static libkqueue needs what its libkqueue.pc lists as Libs.private: -lpthread
      # (it runs a monitoring thread) and -lrt (a stub in glibc 2.34 and later; kept for
      # older C libraries, where it holds the POSIX clock and timer calls).
      find_package(Threads REQUIRED)
      set(link Threads::Threads)
      find_library(ROT13_LIBRT rt)
      mark_as_advanced(ROT13_LIBRT)
      if(ROT13_LIBRT)
        list(APPEND link ${ROT13_LIBRT})
      endif()
      add_library(rot13_libkqueue STATIC IMPORTED GLOBAL)
      set_target_properties(rot13_libkqueue PROPERTIES
        IMPORTED_LOCATION "${dir}/build/libkqueue.a"
        INTERFACE_INCLUDE_DIRECTORIES "${dir}/build/include"
        INTERFACE_LINK_LIBRARIES "${link}")
      set(ROT13_HAVE_KQUEUE ON)
      set(ROT13_KQUEUE_LIBS rot13_libkqueue)
      set(ROT13_KQUEUE_NOTE "libkqueue on Linux")
      # For the results' context: "2.7.0-gf966089" from libkqueue-2.7.0-gf966089.tar.gz.
      get_filename_component(ROT13_LIBKQUEUE_VERSION "${tarball}" NAME)
      string(REGEX REPLACE "^libkqueue-(.*)\\.tar\\.gz$" "\\1" ROT13_LIBKQUEUE_VERSION "${ROT13_LIBKQUEUE_VERSION}")
    endif()
  endif()
endif()
if(NOT ROT13_HAVE_KQUEUE)
  message(STATUS "kqueue: not available: ${ROT13_NO_KQUEUE_REASON}")
endif()
