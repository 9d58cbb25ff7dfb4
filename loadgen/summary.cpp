// The human summary on stdout: what ran, throughput, errors by class, the first wrong
// replies, and the latency spectrum, corrected and uncorrected.
#include <cinttypes>

#include "loadgen/results.hpp"

namespace loadgen {
namespace {

void latency_row(std::FILE* out, const char* name, const histogram& h) {
    std::fprintf(out, "  %-12s", name);
    if (h.count() == 0) {
        std::fputs("  (no values)\n", out);
        return;
    }
    for (double p : {50.0, 75.0, 90.0, 99.0, 99.9, 99.99})
        std::fprintf(out, " %9.1f", static_cast<double>(h.value_at_percentile(p)) / 1e3);
    std::fprintf(out, " %9.1f %9.1f\n", static_cast<double>(h.max()) / 1e3, h.mean() / 1e3);
}

std::string bytes_text(std::uint64_t n) {
    char buf[32];
    if (n >= 10'000'000)
        std::snprintf(buf, sizeof(buf), "%.1f MB", static_cast<double>(n) / 1e6);
    else
        std::snprintf(buf, sizeof(buf), "%.1f kB", static_cast<double>(n) / 1e3);
    return buf;
}

}  // namespace

void print_summary(std::FILE* out, const run_result& r, const options& opts, const verdict& v) {
    std::fprintf(out, "rot13-load %s:%d: %s loop, %d connection%s (+%d idle), ", opts.host.c_str(), opts.port,
                 opts.open_loop() ? "open" : "closed", opts.connections, opts.connections == 1 ? "" : "s",
                 opts.idle);
    if (opts.open_loop())
        std::fprintf(out, "%.0f lines/s %s, at most %d in flight each", opts.rate,
                     opts.arrivals == arrival_process::poisson ? "poisson" : "uniform",
                     opts.effective_depth());
    else
        std::fprintf(out, "depth %d", opts.effective_depth());
    std::fprintf(out, ", %zu-byte lines, %d thread%s\n", opts.size, r.threads, r.threads == 1 ? "" : "s");
    std::fprintf(
        out,
        "  window %.2f s after %.2f s warm-up; ramp-up %.3f s (%d of %d connections up, %d of %d idle)\n",
        r.measured_s, opts.warmup_s, r.ramp_up_s, r.connections_established, opts.connections,
        r.idle_established, opts.idle);
    double rate = r.measured_s > 0 ? static_cast<double>(r.requests) / r.measured_s : 0;
    std::fprintf(out, "  requests    %" PRIu64 " (%.1f lines/s), %s sent, %s received", r.requests, rate,
                 bytes_text(r.bytes_sent).c_str(), bytes_text(r.bytes_received).c_str());
    if (r.unfinished) std::fprintf(out, ", %" PRIu64 " unfinished at the end", r.unfinished);
    if (r.starved_connections)
        std::fprintf(out, ", %" PRIu64 " connections starved (no reply in the window)", r.starved_connections);
    std::fputc('\n', out);

    // How busy rot13-load itself was. On loopback it costs about as much CPU per line as
    // the server (docs/loadgen.md), so near 100% the figures may be its own limit.
    if (r.measured_s > 0 && r.threads > 0) {
        double busy = (r.window_cpu_user_s + r.window_cpu_sys_s) / (r.measured_s * r.threads);
        std::fprintf(out, "  load CPU    %.0f%% of %d thread%s in the window%s\n", 100 * busy, r.threads,
                     r.threads == 1 ? "" : "s",
                     busy >= 0.9 ? ": near saturation, these figures may be rot13-load's limit, not the server's"
                                   " (give it more CPUs and --threads)"
                                 : "");
    }

    const error_counts& e = r.errors;
    if (e.total() == 0) {
        std::fputs("  errors      none\n", out);
    } else {
        std::fprintf(out, "  errors      %" PRIu64 ": %s\n", e.total(), error_breakdown(e).c_str());
    }
    std::fprintf(out, "  validation  every reply byte checked: %" PRIu64 " failure%s\n",
                 e.validation_failures(), e.validation_failures() == 1 ? "" : "s");
    for (const mismatch_example& m : r.mismatches)
        std::fprintf(out,
                     "    connection %" PRIu64 ", reply %" PRIu64 ", byte %" PRIu64
                     ": expected \"%s\", got \"%s\"\n",
                     m.connection, m.line, m.offset, m.expected.c_str(), m.received.c_str());

    std::fputs(
        "  latency (us)       p50       p75       p90       p99     p99.9    p99.99       max      mean\n",
        out);
    latency_row(out, "corrected", r.corrected);
    latency_row(out, "uncorrected", r.uncorrected);
    latency_row(out, "connect", r.connect);
    latency_row(out, "send lag", r.send_lag);
    if (!opts.open_loop())
        std::fputs(
            "  (closed loop: each line is intended when a slot frees up, so corrected = uncorrected)\n", out);
    std::fprintf(out, "  status      %s%s%s\n", v.ok ? "ok" : "FAILED", v.reason.empty() ? "" : ": ",
                 v.reason.c_str());
}

}  // namespace loadgen
