#include "harness/server_session.hpp"

#include <chrono>
#include <thread>

#include "harness/serve.hpp"

namespace harness {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

class local_server final : public server_session {
public:
    explicit local_server(const spawn_options& spawn) : argv_(spawn.argv), child_(spawn) {}
    bool read_stdout(std::string& out) override { return child_.read_stdout(out); }
    const std::optional<exit_status>& poll_exit() override { return child_.poll_exit(); }
    const std::optional<exit_status>& exited() const override { return child_.exited(); }
    group_sample sample() override { return child_.sample(); }
    void request_stop() override { child_.request_stop(); }
    void kill_and_reap() override { child_.kill_and_reap(); }
    const std::string& pin_error() const override { return child_.pin_error(); }
    const std::string& exec_error() const override { return child_.exec_error(); }
    const std::vector<std::string>& command() const override { return argv_; }

private:
    std::vector<std::string> argv_;
    child_process child_;
};

// The transport's stdout carries the server's stdout and serve's own lines; this sorts them.
class remote_server final : public server_session {
public:
    remote_server(const spawn_options& spawn, const host_entry& host)
        : argv_(remote_command(spawn.argv, host)), transport_(transport_spawn(spawn, argv_)) {}

    bool read_stdout(std::string& out) override {
        bool open = pump();
        out += std::exchange(relayed_, {});
        return open;
    }

    const std::optional<exit_status>& poll_exit() override {
        if (exit_) return exit_;
        pump();
        if (far_exit_) {
            exit_ = far_exit_;
        } else if (const auto& transport_exit = transport_.poll_exit()) {
            pump();  // what it wrote last
            // No "exit" line: the transport ended first (the link dropped, ssh failed).
            exit_ = far_exit_ ? far_exit_ : transport_exit;
        }
        return exit_;
    }
    const std::optional<exit_status>& exited() const override { return exit_; }

    group_sample sample() override {
        if (exit_ || !transport_.write_stdin("sample\n")) return {};
        const int asked = samples_seen_;
        const auto deadline = clock_type::now() + 2s;
        while (samples_seen_ == asked && clock_type::now() < deadline && !far_exit_) {
            if (!pump()) break;
            if (samples_seen_ == asked) std::this_thread::sleep_for(1ms);
        }
        return samples_seen_ > asked ? last_sample_ : group_sample{};
    }

    void request_stop() override { transport_.write_stdin("stop\n"); }

    void kill_and_reap() override {
        // Killing the transport ends serve's stdin there, and serve stops the server.
        if (!exit_) {
            transport_.kill_and_reap();
            exit_ = transport_.exited();
        }
    }
    const std::string& pin_error() const override { return pin_error_; }
    const std::string& exec_error() const override { return transport_.exec_error(); }
    const std::vector<std::string>& command() const override { return argv_; }

private:
    static std::vector<std::string> remote_command(const std::vector<std::string>& server_argv,
                                                   const host_entry& host) {
        std::vector<std::string> argv = host.command;
        argv.insert(argv.end(), {host.program, "serve"});
        if (!host.cpus.empty()) argv.insert(argv.end(), {"--server-cpus", host.cpus});
        argv.push_back("--");
        argv.insert(argv.end(), server_argv.begin(), server_argv.end());
        return argv;
    }
    static spawn_options transport_spawn(spawn_options spawn, const std::vector<std::string>& argv) {
        spawn.argv = argv;
        spawn.cpus.clear();  // pinning happens there (host.cpus), not to the transport here
        spawn.capture_stdout = true;
        spawn.stdin_pipe = true;
        return spawn;
    }

    // Reads what arrived; returns false at the transport's end of stdout.
    bool pump() {
        bool open = transport_.read_stdout(pending_);
        for (std::size_t end; (end = pending_.find('\n')) != std::string::npos;) {
            std::string line = pending_.substr(0, end + 1);
            pending_.erase(0, end + 1);
            if (line.rfind(serve_line_prefix, 0) == 0)
                take(line.substr(std::char_traits<char>::length(serve_line_prefix)));
            else
                relayed_ += line;
        }
        return open;
    }

    void take(const std::string& text) {
        json message = json::parse(text, nullptr, false);
        if (!message.is_object()) return;
        if (message.contains("started")) {
            const json& s = message["started"];
            if (s["pin_error"].is_string()) pin_error_ = "on the server host: " + s["pin_error"].get<std::string>();
        } else if (message.contains("sample")) {
            const json& s = message["sample"];
            last_sample_.rss_kb = s.value("rss_kb", 0L);
            last_sample_.user_s = s.value("user_s", 0.0);
            last_sample_.sys_s = s.value("sys_s", 0.0);
            last_sample_.cpu_s = s.value("cpu_s", 0.0);
            last_sample_.processes = s.value("processes", 0);
            ++samples_seen_;
        } else if (message.contains("exit")) {
            const json& e = message["exit"];
            exit_status status;
            if (e["code"].is_number()) status.code = e["code"].get<int>();
            if (e["signal"].is_number()) status.signal = e["signal"].get<int>();
            status.user_s = e.value("user_s", 0.0);
            status.sys_s = e.value("sys_s", 0.0);
            status.peak_rss_kb = e.value("peak_rss_kb", 0L);
            far_exit_ = status;
        }
    }

    std::vector<std::string> argv_;
    child_process transport_;
    std::string pending_, relayed_, pin_error_;
    group_sample last_sample_;
    int samples_seen_ = 0;
    std::optional<exit_status> far_exit_, exit_;
};

}  // namespace

std::unique_ptr<server_session> start_server(const spawn_options& spawn, const std::optional<host_entry>& host) {
    if (host) return std::make_unique<remote_server>(spawn, *host);
    return std::make_unique<local_server>(spawn);
}

}  // namespace harness
