// Signal setup shared by every server.
//
// SIGPIPE is ignored: writing to a connection the peer has reset must return EPIPE to
// the event loop, not kill the whole server (the book's bufferevent server dies this way).
//
// SIGTERM and SIGINT request a graceful stop. The handler only sets a flag and writes a
// byte to a pipe (the self-pipe trick), so a server waiting in select(), poll(),
// epoll_wait() or accept() can include stop_fd() in what it waits for and wake up at
// once, with no race between checking a flag and going to sleep. Libraries with their own
// signal machinery (libevent's evsignal, Asio's signal_set) may use that instead.
#pragma once

namespace rot13 {

// Ignores SIGPIPE and installs the SIGTERM/SIGINT handlers. Call once, early in main().
// Throws std::system_error on failure.
void install_signal_handlers();

// Ignores SIGPIPE only (for servers that handle SIGTERM/SIGINT with their library).
void ignore_sigpipe();

// The read end of the self-pipe: readable once a stop was requested. Nonblocking, close-on-exec.
int stop_fd() noexcept;

// True once SIGTERM or SIGINT has arrived. Async-signal-safe to read.
bool stop_requested() noexcept;

}  // namespace rot13
