// POSIX: a socket is a file descriptor. Included through common/socket.hpp (CMake names
// this file on every system but Windows); it brings the headers every socket call needs.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

namespace rot13 {

using socket_handle = int;
inline constexpr socket_handle invalid_socket = -1;

}  // namespace rot13
