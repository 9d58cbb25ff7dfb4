# Builds with clang and libc++, the compiler and standard library of macOS's toolchain, on
# Linux: the nearest this project's Linux machines get to a macOS build of the project
# (scripts/portability.sh libcxx builds everything but rot13-micro and runs its tests). Debian: clang-14 libc++-14-dev libc++abi-14-dev.
#   cmake -S . -B build-libcxx -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-clang-libcxx.cmake \
#         -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON -DROT13_GTEST_SOURCE_DIR=/usr/src/googletest
# Debian's prebuilt GoogleTest is built against libstdc++, hence GoogleTest from source.
set(CMAKE_C_COMPILER clang-14)
set(CMAKE_CXX_COMPILER clang++-14)
# Boost 1.74's Asio still names std::result_of, which libc++ drops in C++20 unless asked
# to keep it; newer Boost (as on macOS with Homebrew) does not need this.
set(CMAKE_CXX_FLAGS_INIT "-stdlib=libc++ -D_LIBCPP_ENABLE_CXX20_REMOVED_TYPE_TRAITS")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-stdlib=libc++")
