// rot13-bench serve: the harness's far end on another host. The harness runs it there
// through a transport (a command prefix: ssh, ip netns exec, docker exec, kubectl exec) to
// start a server, and talks to it over the transport's stdin and stdout. No port, no agent,
// no authentication of its own: the transport's is the security.
//
//   rot13-bench serve [--server-cpus LIST] -- SERVER ARGV...
//
// It starts the server with the same process layer as a local run (harness/process.hpp:
// pinned, in its own group, stopped by SIGTERM and its stdin), relays the server's stdout
// (the readiness line) to its own, and speaks a line protocol: every line of its own starts
// with "@rot13-bench " and holds one JSON object.
//   stdin "sample"  -> {"sample": {"rss_kb", "user_s", "sys_s", "cpu_s", "processes"}}
//   stdin "stop", or the end of stdin (the harness died, the link dropped)
//                   -> the stop request; SIGKILL after 2 s; then
//                      {"exit": {"code", "signal", "user_s", "sys_s", "peak_rss_kb", "killed"}}
// After starting: {"started": {"pid", "pin_error", "exec_error"}}. When the server exits by
// itself, the "exit" line comes at once. It then exits 0.
#pragma once

#include <string>
#include <vector>

namespace harness {

int serve(const std::vector<std::string>& server_argv, const std::string& server_cpus);

// The prefix of serve's own lines.
inline constexpr const char* serve_line_prefix = "@rot13-bench ";

}  // namespace harness
