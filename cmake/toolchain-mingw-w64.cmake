# Cross-compiles rot13-load for 64-bit Windows 10+ with MinGW-w64 (Debian:
# g++-mingw-w64-x86-64-posix, libz-mingw-w64-dev). Only rot13-load and its unit tests are
# built; configure says why the rest is not. scripts/portability.sh windows builds with this file and
# runs the result under Wine:
#   cmake -S . -B build-windows -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw-w64.cmake \
#         -DROT13_GTEST_SOURCE_DIR=/usr/src/googletest   # optional: the unit tests
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(ROT13_MINGW_TRIPLE x86_64-w64-mingw32)

# The -posix compilers: GCC 12's -win32 ones have no std::thread.
set(CMAKE_C_COMPILER ${ROT13_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${ROT13_MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${ROT13_MINGW_TRIPLE}-windres)

# Headers, libraries and packages come from the target's tree only; programs (pkg-config,
# git) from the build machine. pkg-config must likewise see the target's .pc files only.
set(CMAKE_FIND_ROOT_PATH /usr/${ROT13_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} /usr/${ROT13_MINGW_TRIPLE}/lib/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# Boost.Asio and nlohmann_json are header-only: the build machine's copies serve, through
# links (cmake/Rot13Dependencies.cmake), never by searching all of /usr/include.
set(ROT13_HEADER_ONLY_FROM /usr/include)

# A self-contained .exe: libstdc++, libgcc, winpthreads and zlib are linked in, so that it
# runs on a Windows machine that has none of MinGW's DLLs.
set(CMAKE_EXE_LINKER_FLAGS_INIT -static)
set(ZLIB_USE_STATIC_LIBS ON)

# ctest runs the Windows programs under Wine where Wine is installed (Debian's wine64
# package puts its loader in /usr/lib/wine).
find_program(ROT13_WINE NAMES wine wine64 PATHS /usr/lib/wine NO_CMAKE_FIND_ROOT_PATH)
if(ROT13_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${ROT13_WINE})
endif()
