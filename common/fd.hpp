// unique_fd: owns one file descriptor and closes it exactly once (POSIX only). A socket is
// a file descriptor there, so this is common/socket.hpp's unique_socket under the name that
// POSIX code uses for pipes, epoll instances and /dev/null as well as for sockets.
#pragma once

#include "socket.hpp"

namespace rot13 {

using unique_fd = unique_socket;

}  // namespace rot13
