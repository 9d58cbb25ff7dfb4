// The server of one run as the runner sees it: started here as a child process, or on
// another host through that host's command prefix and `rot13-bench serve` there
// (harness/serve.hpp), which relays the readiness line and samples the server's CPU and
// memory on its own host. Either way the runner reads its stdout, samples it, asks it to
// stop and collects how it ended through this one interface.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "harness/process.hpp"
#include "harness/suite.hpp"

namespace harness {

class server_session {
public:
    virtual ~server_session() = default;
    // Appends the server's stdout so far (never serve's own lines); false at its end.
    virtual bool read_stdout(std::string& out) = 0;
    virtual const std::optional<exit_status>& poll_exit() = 0;
    virtual const std::optional<exit_status>& exited() const = 0;
    // CPU and memory now. Remote: asks serve and waits up to 2 s for the answer (zeros if
    // none came).
    virtual group_sample sample() = 0;
    virtual void request_stop() = 0;
    virtual void kill_and_reap() = 0;
    virtual const std::string& pin_error() const = 0;
    virtual const std::string& exec_error() const = 0;
    // What the harness ran (for the results' "commands").
    virtual const std::vector<std::string>& command() const = 0;
};

// argv started here (spawn's other fields as given), or through host.command +
// [host.program, "serve", "--server-cpus", host.cpus, "--", argv...] on that host.
std::unique_ptr<server_session> start_server(const spawn_options& spawn, const std::optional<host_entry>& host);

}  // namespace harness
