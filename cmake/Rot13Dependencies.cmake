# Finds the optional libraries the server variants need. Each result is a ROT13_HAVE_*
# variable plus a human reason when it is missing, so configure can say why a variant
# was not built. Everything here comes from distribution packages (Debian names given).
find_package(PkgConfig)

set(ROT13_HAVE_LIBEVENT OFF)
if(PkgConfig_FOUND)
  pkg_check_modules(LIBEVENT IMPORTED_TARGET libevent)
  if(LIBEVENT_FOUND)
    set(ROT13_HAVE_LIBEVENT ON)
  endif()
endif()
set(ROT13_NO_LIBEVENT_REASON "libevent not found (Debian: apt-get install libevent-dev)")
if(WIN32 AND CMAKE_CROSSCOMPILING)
  set(ROT13_NO_LIBEVENT_REASON "Debian has no libevent built for MinGW-w64 (apt-cache search mingw lists none), and nothing is built from source or downloaded here")
endif()

set(ROT13_HAVE_LIBURING OFF)
if(PkgConfig_FOUND)
  pkg_check_modules(LIBURING IMPORTED_TARGET liburing)
  if(LIBURING_FOUND)
    set(ROT13_HAVE_LIBURING ON)
  endif()
endif()
set(ROT13_NO_LIBURING_REASON "liburing not found (Debian: apt-get install liburing-dev)")
if(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
  set(ROT13_NO_LIBURING_REASON "io_uring exists only on Linux")
endif()

# A cross build (Windows from Linux: cmake/toolchain-mingw-w64.cmake) must not search the
# build machine's /usr/include, whose C library headers would shadow the target's. Boost
# and nlohmann_json are header-only and the same for every target, so the toolchain names
# where they are (ROT13_HEADER_ONLY_FROM) and the build sees them through a directory that
# holds links to those two alone.
set(ROT13_HEADER_ONLY_DIR "")
if(CMAKE_CROSSCOMPILING AND ROT13_HEADER_ONLY_FROM)
  set(ROT13_HEADER_ONLY_DIR ${CMAKE_BINARY_DIR}/header-only)
  file(MAKE_DIRECTORY ${ROT13_HEADER_ONLY_DIR})
  foreach(name boost nlohmann)
    if(EXISTS ${ROT13_HEADER_ONLY_FROM}/${name})
      file(CREATE_LINK ${ROT13_HEADER_ONLY_FROM}/${name} ${ROT13_HEADER_ONLY_DIR}/${name} SYMBOLIC)
    endif()
  endforeach()
  set(Boost_NO_BOOST_CMAKE ON)  # the build machine's BoostConfig.cmake would add /usr/include
  set(Boost_INCLUDE_DIR ${ROT13_HEADER_ONLY_DIR} CACHE PATH "Boost headers (links)" FORCE)
endif()

# Boost.Asio is header-only; only the headers are needed.
set(ROT13_HAVE_ASIO OFF)
find_package(Boost 1.70 QUIET)
if(Boost_FOUND)
  set(ROT13_HAVE_ASIO ON)
endif()
set(ROT13_NO_ASIO_REASON "Boost >= 1.70 headers not found (Debian: apt-get install libboost-dev)")

find_package(nlohmann_json 3 QUIET)
if(NOT nlohmann_json_FOUND AND ROT13_HEADER_ONLY_DIR AND EXISTS ${ROT13_HEADER_ONLY_DIR}/nlohmann/json.hpp)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES ${ROT13_HEADER_ONLY_DIR})
  set(nlohmann_json_FOUND TRUE)
endif()

find_package(GTest QUIET)
# No GoogleTest is installed for a cross build's target, but Debian's googletest package
# ships its source (/usr/src/googletest): -DROT13_GTEST_SOURCE_DIR=... builds it with the
# project's compiler. Its warnings are its own business, not errors of this project.
if(NOT GTest_FOUND AND ROT13_GTEST_SOURCE_DIR)
  set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  add_subdirectory(${ROT13_GTEST_SOURCE_DIR} ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
  target_compile_options(gtest PRIVATE -Wno-error)
  target_compile_options(gtest_main PRIVATE -Wno-error)
  if(NOT TARGET GTest::gtest_main)  # googletest 1.11 and later define it themselves
    add_library(GTest::gtest_main ALIAS gtest_main)
  endif()
  set(GTest_FOUND TRUE)
endif()
find_package(benchmark QUIET)

# kqueue and epoll are kernel interfaces: look for the header that declares them. Where
# the kernel has no kqueue (Linux), cmake/Rot13Libkqueue.cmake may build libkqueue.
include(CheckIncludeFileCXX)
check_include_file_cxx(sys/epoll.h ROT13_HAVE_EPOLL)
check_include_file_cxx(sys/event.h ROT13_HAVE_SYS_EVENT_H)
include(Rot13Libkqueue)
