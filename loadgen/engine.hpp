// The load engine: one event loop (a Boost.Asio io_context) per thread, each owning its
// share of the connections, its own histograms and counters, and no locks on the path of
// a request. run_load() starts the threads, ramps the connections up, runs the warm-up and
// the measured window, and merges what every thread measured.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "loadgen/histogram.hpp"
#include "loadgen/options.hpp"

namespace loadgen {

// Errors by class. Every class counts events over the whole run, warm-up and ramp-up
// included: an error is never excused by when it happened.
struct error_counts {
    std::uint64_t connect = 0;      // a connect failed (other than refused) or timed out
    std::uint64_t refused = 0;      // a connect was refused
    std::uint64_t reset = 0;        // the server reset the connection (ECONNRESET, EPIPE)
    std::uint64_t closed = 0;       // the server closed a connection we still meant to use
    std::uint64_t timeout = 0;      // a line got no complete reply within --timeout
    std::uint64_t mismatch = 0;     // a reply byte differed from the expected ROT13
    std::uint64_t short_reply = 0;  // the connection ended in the middle of a reply
    std::uint64_t other = 0;        // any other socket error

    std::uint64_t total() const noexcept {
        return connect + refused + reset + closed + timeout + mismatch + short_reply + other;
    }
    std::uint64_t validation_failures() const noexcept { return mismatch + short_reply; }
    void add(const error_counts& o) noexcept;
};

// The first few wrong replies, shown in the summary and the JSON.
struct mismatch_example {
    std::uint64_t connection = 0;
    std::uint64_t line = 0;    // lines answered on that connection before this one
    std::uint64_t offset = 0;  // byte offset of the first wrong byte within the reply
    std::string expected;      // a few bytes from there on, escaped
    std::string received;
};
inline constexpr std::size_t max_mismatch_examples = 5;

// One second of the measured window (the last one may be shorter), as a worker hands it
// to the control thread.
struct interval_sample {
    double t_s = 0;  // start, seconds after the window opened
    double length_s = 0;
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    histogram corrected;
    histogram uncorrected;
};

// What the results keep of each second: counts and a few percentiles (the histograms
// themselves go to the --hdr-log file, not into memory or the JSON).
struct second_summary {
    double t_s = 0;
    double length_s = 0;
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    std::int64_t p50 = 0;  // corrected latency, ns
    std::int64_t p99 = 0;
    std::int64_t max = 0;
};

struct run_result {
    // Latency of every line whose intended send time fell in the measured window.
    histogram corrected;               // from the intended send time (coordinated omission corrected)
    histogram uncorrected;             // from the actual send time
    histogram connect;                 // connect() start to established, every connect
    histogram send_lag;                // actual minus intended send time
    std::uint64_t requests = 0;        // lines answered, byte-exact, intended in the window
    std::uint64_t bytes_sent = 0;      // during the window
    std::uint64_t bytes_received = 0;  // during the window
    std::uint64_t unfinished = 0;      // lines intended in the window, unanswered when the run ended
    // Active connections whose oldest unanswered line was sent before the window opened and
    // was still unanswered when the window closed: the server left them waiting for the whole
    // window (a thread pool smaller than the number of connections does exactly that).
    // Their lines never reach the figures, so without this count the throughput of the
    // connections that were served would look like the server's answer to the whole load.
    std::uint64_t starved_connections = 0;
    error_counts errors;
    std::vector<mismatch_example> mismatches;
    std::vector<second_summary> timeseries;

    double measured_s = 0;  // the window as it really was (shorter if interrupted)
    double ramp_up_s = 0;   // first connect to the last one established or failed
    int threads = 0;
    int connections_established = 0;  // active connections up when traffic started
    int idle_established = 0;
    std::string interrupted_by;  // "SIGINT"/"SIGTERM" when a signal ended the run early
    std::string fatal;           // set when the run could not happen at all
    double start_epoch_s = 0;    // wall-clock time the window opened (0: it never did)
    double traffic_start_epoch_s = 0;  // wall-clock time the warm-up began (0: it never did)
    double start_late_s = 0;     // with --start-at: how much later than asked traffic began
    // CPU seconds of this process within the window (the whole-run totals come from
    // process_cpu_times() when the results are written).
    double window_cpu_user_s = 0;
    double window_cpu_sys_s = 0;
    long baseline_rss_kb = 0;  // peak RSS before the first connection was opened
};

// Live figures for the progress line, called once a second from the control thread.
struct progress_sample {
    double elapsed_s;  // since traffic started (warm-up included); < 0: until --start-at
    bool measuring;
    double lines_per_s;    // over the last second
    std::int64_t p99_ns;   // corrected p99 of the last complete second (0 if none yet)
    std::uint64_t errors;  // so far
};
using progress_fn = std::function<void(const progress_sample&)>;

// Runs one load test as opts describes, writing opts.hdr_log_path as it goes. Throws
// when it cannot start (the host does not resolve, no threads) or cannot write the log;
// everything that goes wrong with the server is data in the result. SIGINT and SIGTERM end the run early
// (interrupted_by says which).
run_result run_load(const options& opts, const progress_fn& progress);

}  // namespace loadgen
