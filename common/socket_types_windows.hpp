// Windows: a socket is a SOCKET, a kernel handle that Winsock (ws2_32.dll) manages. Included
// through common/socket.hpp (CMake names this file for Windows builds, and defines
// _WIN32_WINNT, WIN32_LEAN_AND_MEAN, NOMINMAX and FD_SETSIZE before any header is read).
#pragma once

// winsock2.h before windows.h, which would otherwise bring the old winsock.h.
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <sys/types.h>  // ssize_t, which MinGW-w64 provides as POSIX does

namespace rot13 {

using socket_handle = SOCKET;
inline constexpr socket_handle invalid_socket = INVALID_SOCKET;

}  // namespace rot13
