#include "harness/serve.hpp"

#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>

#include "common/signals.hpp"
#include "harness/process.hpp"
#include "harness/suite.hpp"

namespace harness {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

// stdin, read by a thread of its own: the commands and its end.
struct command_queue {
    std::mutex mutex;
    std::vector<std::string> lines;
    bool closed = false;

    void read_forever() {
        for (std::string line; std::getline(std::cin, line);) {
            std::lock_guard lock(mutex);
            lines.push_back(line);
        }
        std::lock_guard lock(mutex);
        closed = true;
    }
    std::vector<std::string> take(bool& is_closed) {
        std::lock_guard lock(mutex);
        is_closed = closed;
        return std::exchange(lines, {});
    }
};

void say(const json& message) {
    std::cout << serve_line_prefix << message.dump() << std::endl;  // flushed: the harness waits for it
}

json exit_json(const exit_status& e, bool killed) {
    return {{"exit",
             {{"code", e.code ? json(*e.code) : json(nullptr)},
              {"signal", e.signal ? json(*e.signal) : json(nullptr)},
              {"user_s", e.user_s},
              {"sys_s", e.sys_s},
              {"peak_rss_kb", e.peak_rss_kb},
              {"killed", killed}}}};
}

}  // namespace

int serve(const std::vector<std::string>& server_argv, const std::string& server_cpus) {
    spawn_options spawn;
    spawn.argv = server_argv;
    if (!server_cpus.empty()) spawn.cpus = parse_cpu_list(server_cpus);
    spawn.capture_stdout = true;
    spawn.stdin_pipe = true;
    spawn.log = own_stderr();
    become_subreaper();
    child_process server(spawn);
    say({{"started",
          {{"pid", server.pid()},
           {"pin_error", server.pin_error().empty() ? json(nullptr) : json(server.pin_error())},
           {"exec_error", server.exec_error().empty() ? json(nullptr) : json(server.exec_error())}}}});

    static command_queue commands;  // the reader thread may outlive this function
    std::thread([] { commands.read_forever(); }).detach();

    std::optional<clock_type::time_point> kill_at;
    for (;;) {
        std::string out;
        server.read_stdout(out);
        if (!out.empty()) std::cout << out << std::flush;
        if (const auto& exit = server.poll_exit()) {
            say(exit_json(*exit, false));
            return 0;
        }
        bool closed = false;
        std::vector<std::string> lines = commands.take(closed);
        closed = closed || rot13::stop_requested();  // SIGTERM or Ctrl-C: as the end of stdin
        for (const auto& line : lines) {
            if (line == "sample") {
                group_sample s = server.sample();
                say({{"sample",
                      {{"rss_kb", s.rss_kb},
                       {"user_s", s.user_s},
                       {"sys_s", s.sys_s},
                       {"cpu_s", s.cpu_s},
                       {"processes", s.processes}}}});
            } else if (line == "stop") {
                closed = true;
            }
        }
        if (closed && !kill_at) {
            server.request_stop();
            kill_at = clock_type::now() + 2s;
        }
        if (kill_at && clock_type::now() >= *kill_at) {
            server.kill_and_reap();
            say(exit_json(*server.exited(), true));
            return 0;
        }
        std::this_thread::sleep_for(5ms);
    }
}

}  // namespace harness
