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

# Boost.Asio is header-only; only the headers are needed.
set(ROT13_HAVE_ASIO OFF)
find_package(Boost 1.70 QUIET)
if(Boost_FOUND)
  set(ROT13_HAVE_ASIO ON)
endif()
set(ROT13_NO_ASIO_REASON "Boost >= 1.70 headers not found (Debian: apt-get install libboost-dev)")

find_package(nlohmann_json 3 QUIET)
find_package(GTest QUIET)
find_package(benchmark QUIET)

# kqueue and epoll are kernel interfaces: look for the header that declares them.
include(CheckIncludeFileCXX)
check_include_file_cxx(sys/epoll.h ROT13_HAVE_EPOLL)
check_include_file_cxx(sys/event.h ROT13_HAVE_KQUEUE)
