// The readiness line on POSIX, where stdout writes exactly the bytes it is given.
#include <cstdio>

#include "common/listener.hpp"

namespace rot13 {

void announce_listening(socket_handle listener) {
    std::printf("listening on %s\n", local_address(listener).c_str());
    std::fflush(stdout);
}

}  // namespace rot13
