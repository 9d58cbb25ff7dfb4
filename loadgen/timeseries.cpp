#include "loadgen/timeseries.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace loadgen {

timeseries_collector::timeseries_collector(std::size_t workers, std::string hdr_log_path)
    : workers_(workers), received_(workers, 0), log_path_(std::move(hdr_log_path)) {}

void timeseries_collector::add(std::size_t worker, std::vector<interval_sample>&& seconds) {
    for (interval_sample& s : seconds) {
        std::size_t index = received_[worker]++;
        if (index < first_pending_) continue;  // completed without it already (cannot happen before finish)
        while (pending_.size() <= index - first_pending_) pending_.emplace_back();
        pending& p = pending_[index - first_pending_];
        if (p.reports++ == 0) {
            p.merged = std::move(s);
            continue;
        }
        p.merged.requests += s.requests;
        p.merged.errors += s.errors;
        p.merged.length_s = std::max(p.merged.length_s, s.length_s);
        p.merged.corrected.merge(s.corrected);
        p.merged.uncorrected.merge(s.uncorrected);
    }
}

void timeseries_collector::complete_ready(double start_epoch_s) {
    while (!pending_.empty() && pending_.front().reports == workers_) complete_front(start_epoch_s);
}

std::vector<second_summary> timeseries_collector::finish(double start_epoch_s) {
    while (!pending_.empty()) complete_front(start_epoch_s);
    if (open_log(start_epoch_s)) {  // a run without a single second still gets a valid log
        log_file_.close();
        if (!log_file_) {
            log_error_ = "cannot write " + log_path_ + ": " + std::strerror(errno);
        } else {
            // std::filesystem::rename replaces an existing log on Windows too; std::rename fails there.
            std::error_code ec;
            std::filesystem::rename(log_path_ + ".tmp", log_path_, ec);
            if (ec) log_error_ = "cannot write " + log_path_ + ": " + ec.message();
        }
    }
    return std::move(done_);
}

// Opens PATH.tmp and writes the header, once. False when there is no log to write.
bool timeseries_collector::open_log(double start_epoch_s) {
    if (log_path_.empty() || !log_error_.empty()) return false;
    if (log_) return true;
    // Binary: the log has "\n" line ends on every system, Windows included.
    log_file_.open(log_path_ + ".tmp", std::ios::binary | std::ios::trunc);
    if (!log_file_) {
        log_error_ = "cannot write " + log_path_ + ".tmp: " + std::strerror(errno);
        return false;
    }
    log_ = std::make_unique<hdr_log_writer>(
        log_file_, start_epoch_s, "rot13-load: per-second latency in ns, corrected and uncorrected");
    return true;
}

void timeseries_collector::complete_front(double start_epoch_s) {
    const interval_sample& s = pending_.front().merged;
    if (open_log(start_epoch_s)) {
        log_->write_interval(s.corrected, s.t_s, s.length_s, "corrected");
        log_->write_interval(s.uncorrected, s.t_s, s.length_s, "uncorrected");
    }
    last_p99_ = s.corrected.value_at_percentile(99);
    done_.push_back({s.t_s, s.length_s, s.requests, s.errors, s.corrected.value_at_percentile(50), last_p99_,
                     s.corrected.max()});
    pending_.pop_front();
    ++first_pending_;
}

}  // namespace loadgen
