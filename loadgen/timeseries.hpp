// The per-second time series of a run. Workers hand over each second of the window as
// they finish it (histograms and counts); the control thread merges the same second from
// every worker, appends it to the HdrHistogram interval log (--hdr-log), keeps only its
// summary (requests, errors, p50, p99, max), and drops the histograms, so that memory
// stays flat however long the run is.
#pragma once

#include <cstddef>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "loadgen/engine.hpp"
#include "loadgen/hdr_log.hpp"

namespace loadgen {

class timeseries_collector {
public:
    // workers: how many report each second. hdr_log_path: "" for no log; the log is
    // written to PATH.tmp and renamed to PATH by finish().
    timeseries_collector(std::size_t workers, std::string hdr_log_path);

    // Seconds from one worker, in order (its first call hands over second 0).
    void add(std::size_t worker, std::vector<interval_sample>&& seconds);
    // Completes every second all workers have reported; start_epoch_s is the wall-clock
    // time the window opened (the log's StartTime).
    void complete_ready(double start_epoch_s);
    // At the end: completes what is left, even seconds some worker never reported, and
    // closes the log.
    std::vector<second_summary> finish(double start_epoch_s);
    // Why the log could not be written ("" if it could, or if there is none). The run
    // itself goes on: the collector never throws.
    const std::string& log_error() const noexcept { return log_error_; }

    // The corrected p99 of the newest completed second (0 before the first).
    std::int64_t last_p99() const noexcept { return last_p99_; }

private:
    struct pending {
        interval_sample merged;
        std::size_t reports = 0;
    };
    void complete_front(double start_epoch_s);
    bool open_log(double start_epoch_s);

    std::size_t workers_;
    std::vector<std::size_t> received_;  // seconds handed over by each worker
    std::deque<pending> pending_;        // from second first_pending_ on
    std::size_t first_pending_ = 0;
    std::vector<second_summary> done_;
    std::int64_t last_p99_ = 0;
    std::string log_path_;
    std::ofstream log_file_;
    std::unique_ptr<hdr_log_writer> log_;
    std::string log_error_;
};

}  // namespace loadgen
