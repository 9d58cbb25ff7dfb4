// Stop requests and signal setup, on every OS. CMake compiles signals_posix.cpp or
// signals_windows.cpp.
//
// POSIX: SIGPIPE is ignored: writing to a connection the peer has reset must return EPIPE
// to the event loop, not kill the whole server (the book's bufferevent server dies this
// way). SIGTERM and SIGINT request a graceful stop. The handler only sets a flag and writes
// a byte to a pipe (the self-pipe trick), so a server waiting in select(), poll(),
// epoll_wait() or accept() can include stop_fd() in what it waits for and wake up at
// once, with no race between checking a flag and going to sleep.
//
// Windows has no SIGPIPE (a send() to a reset connection just fails) and no SIGTERM. A
// console program is stopped by console control events: Ctrl-C, Ctrl-Break (what a parent
// sends with GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, group) to a child it started with
// CREATE_NEW_PROCESS_GROUP) and the closing of its console window. Windows runs the handler
// on a thread of its own, which sets the flag and sends a byte on a loopback socket pair:
// select() and WSAPoll() watch sockets only, so stop_fd() is a socket there. Under Wine,
// SIGINT sent to the Windows program's process arrives as Ctrl-C; SIGTERM ends it at once,
// with no handler run (docs/protocol.md, "Lifecycle").
//
// Libraries with their own signal machinery (libevent's evsignal, Asio's signal_set) may
// use that instead, with the signal numbers of stop_signal_numbers().
#pragma once

#include <span>

#include "socket.hpp"

namespace rot13 {

// Ignores SIGPIPE and installs the stop handlers. Call once, early in main(). Throws
// std::system_error on failure.
void install_signal_handlers();

// Ignores SIGPIPE only (for servers that handle the stop signals with their library).
// Windows has no SIGPIPE: there it does nothing.
void ignore_sigpipe();

// Ignores the stop signals from now on: for a server whose library handles them (libevent's
// evsignal, Asio's signal_set), called once its loop has returned and the library has let
// go of them. Letting go restores the default action, which for SIGTERM is to die, and a
// second stop request can arrive during the shutdown: rot13-bench asks twice (it closes the
// server's stdin and sends SIGTERM), and a tired user presses Ctrl-C again. Without this, it
// kills a server that was about to exit 0. On Windows: SIGINT and SIGBREAK.
void ignore_stop_signals();

// Readable once a stop was requested: the read end of the self-pipe on POSIX, a socket on
// Windows. Nonblocking, not inherited by child processes.
socket_handle stop_fd() noexcept;

// True once a stop was requested. Async-signal-safe to read.
bool stop_requested() noexcept;

// The C signals that mean "stop" for a library's own signal handling (Asio's signal_set):
// SIGTERM and SIGINT on POSIX; SIGINT and SIGBREAK on Windows, which is how its C runtime
// reports Ctrl-C and Ctrl-Break. (The closing of the console window has no C signal: a
// server that relies on these is ended by it, while install_signal_handlers() catches it.)
std::span<const int> stop_signal_numbers() noexcept;

// Starts a thread that reads stdin until end of file (or an error) and then requests a
// stop as SIGTERM would; on Windows as Ctrl-Break would: through install_signal_handlers()'s
// handler, or by raising SIGBREAK for a library's signal handling. A parent that cannot
// send a signal or a control event closes the pipe instead: rot13-bench does on every OS
// (Wine 8 has no GenerateConsoleCtrlEvent), and if the harness dies, however it dies, the
// pipe closes and the server ends. Call it once the stop handling is in place (open_listener
// does, for --stop-on-stdin-close).
void stop_when_stdin_closes();

// While one lives, the calling thread does not take the stop signals, and a thread it
// starts inherits that: a server creates its connection threads under one, so that the
// signals go to the one thread that waits for them (on stop_fd()) and recv()/send()
// elsewhere never fail with EINTR because of them. On Windows, where a control event
// interrupts no thread, it does nothing.
class stop_signals_blocked {
public:
    stop_signals_blocked();
    ~stop_signals_blocked();
    stop_signals_blocked(const stop_signals_blocked&) = delete;
    stop_signals_blocked& operator=(const stop_signals_blocked&) = delete;

private:
    unsigned newly_blocked_ = 0;  // bit i: stop_signal_numbers()[i] was blocked by this one, not before
};

}  // namespace rot13
