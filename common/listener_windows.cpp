// The readiness line on Windows. The C runtime opens stdout in text mode, which writes each
// '\n' as "\r\n"; the harness and the tests read the line byte for byte on every OS, so
// stdout is switched to binary mode first. Nothing else the servers print goes to stdout.
#include <fcntl.h>
#include <io.h>

#include <cstdio>

#include "common/listener.hpp"

namespace rot13 {

void announce_listening(socket_handle listener) {
    std::fflush(stdout);
    ::_setmode(::_fileno(stdout), _O_BINARY);
    std::printf("listening on %s\n", local_address(listener).c_str());
    std::fflush(stdout);
}

}  // namespace rot13
