// Windows: console control events instead of signals (common/signals.hpp says which, and
// how a parent process sends one).
#include <atomic>
#include <csignal>
#include <system_error>
#include <thread>

#include "common/signals.hpp"

namespace rot13 {
namespace {

// Made once and never destroyed: an event may arrive while the program exits.
wakeup* stop_socket = nullptr;
std::atomic<bool> stop_flag{false};

// Windows calls this on a new thread of the process for each control event. Returning TRUE
// says "handled": the default handler, which ends the process at once, is not called. For
// CTRL_CLOSE_EVENT the process ends as soon as a handler returns (and after 5 s whatever
// it does), so the handler waits instead: main() returning ends the process, this thread
// with it, once the server has stopped in its own way.
BOOL WINAPI on_console_event(DWORD event) {
    switch (event) {
        case CTRL_C_EVENT:
        case CTRL_BREAK_EVENT:
        case CTRL_CLOSE_EVENT:
            stop_flag = true;
            stop_socket->notify();
            if (event == CTRL_CLOSE_EVENT) ::Sleep(INFINITE);
            return TRUE;
        default:
            return FALSE;  // logoff and shutdown reach services only
    }
}

std::atomic<bool> handlers_installed{false};

}  // namespace

void ignore_sigpipe() {}

void ignore_stop_signals() {
    for (int number : stop_signal_numbers()) std::signal(number, SIG_IGN);
}

void install_signal_handlers() {
    if (!stop_socket) stop_socket = new wakeup();
    if (!::SetConsoleCtrlHandler(on_console_event, TRUE))
        throw std::system_error(static_cast<int>(::GetLastError()), std::system_category(),
                                "cannot install the console control handler");
    handlers_installed = true;
}

void stop_when_stdin_closes() {
    HANDLE in = ::GetStdHandle(STD_INPUT_HANDLE);
    std::thread([in] {
        char buf[256];
        DWORD n = 0;
        while (in && in != INVALID_HANDLE_VALUE && ::ReadFile(in, buf, sizeof(buf), &n, nullptr) && n > 0) {
        }
        if (handlers_installed)
            on_console_event(CTRL_BREAK_EVENT);
        else
            std::raise(SIGBREAK);  // to Asio's signal_set (servers/asio.cpp)
    }).detach();
}

socket_handle stop_fd() noexcept { return stop_socket ? stop_socket->readable() : invalid_socket; }

bool stop_requested() noexcept { return stop_flag; }

std::span<const int> stop_signal_numbers() noexcept {
    static const int numbers[] = {SIGINT, SIGBREAK};
    return numbers;
}

stop_signals_blocked::stop_signals_blocked() = default;
stop_signals_blocked::~stop_signals_blocked() = default;

}  // namespace rot13
