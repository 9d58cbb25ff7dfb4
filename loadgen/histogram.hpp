// A log-linear latency histogram with HdrHistogram's design and exactly its bucket layout.
//
// Values (nanoseconds) are kept with 3 significant decimal digits: every value lands in a
// bucket whose width is at most 1/1000 of the value, so a percentile read back is within
// 0.1% of a value that was recorded. The layout is HdrHistogram's (lowest discernible value
// 1, highest trackable value 1 hour, 3 significant digits): 2048 linear sub-buckets, then
// one more power-of-two bucket of 1024 sub-buckets per doubling of the value. Because the
// index of a value is the same in every histogram built with the same parameters, merging
// is an exact element-wise sum, and the counts can be written in HdrHistogram's own
// encoding (hdr_log.hpp) for its tools to read.
//
// Recording is O(1) and never allocates: an index computed from the value's leading zero
// count, one increment. Percentiles, the mean and exports walk the counts afterwards.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace loadgen {

class histogram {
public:
    // The defaults cover 1 ns .. 1 hour at 3 significant digits (33,792 counters, 264 KiB,
    // allocated zeroed so that untouched pages cost no memory).
    static constexpr std::int64_t default_lowest = 1;
    static constexpr std::int64_t default_highest = 3'600'000'000'000;  // 1 hour in ns
    static constexpr int default_digits = 3;

    histogram() : histogram(default_lowest, default_highest, default_digits) {}
    histogram(std::int64_t lowest_discernible, std::int64_t highest_trackable, int significant_digits);
    histogram(const histogram& other);
    histogram& operator=(const histogram& other);
    histogram(histogram&&) noexcept = default;
    histogram& operator=(histogram&&) noexcept = default;
    ~histogram() = default;

    // Counts one value. Negative values count as 0; values above highest_trackable() count
    // as highest_trackable() (a latency of more than an hour is "more than an hour").
    void record(std::int64_t value) noexcept { record_n(value, 1); }
    void record_n(std::int64_t value, std::int64_t n) noexcept {
        if (value < 0) value = 0;
        if (value > highest_) value = highest_;
        counts_[index_of(value)] += n;
        total_ += n;
        if (value > max_) max_ = value;
        if (value < min_) min_ = value;
    }

    // Adds every count of other, which must have the same parameters (throws otherwise), and
    // whose counts must not take the total past 2^63 (throws std::overflow_error).
    void merge(const histogram& other);

    // Forgets every value. Clears only the counters up to the largest value recorded, so
    // resetting a per-second histogram touches no more memory than recording did.
    void reset() noexcept;

    std::int64_t count() const noexcept { return total_; }
    // The largest and smallest values recorded, exactly (0 when empty).
    std::int64_t max() const noexcept { return total_ ? max_ : 0; }
    std::int64_t min() const noexcept { return total_ ? min_ : 0; }
    // The mean, taking each value as the middle of its bucket, as HdrHistogram does.
    double mean() const noexcept;
    // The value at or below which `percentile` percent (0..100) of the values lie: the
    // highest value of the bucket that holds that rank, capped at max(). 0 when empty.
    std::int64_t value_at_percentile(double percentile) const noexcept;

    // Raw access for exports and exact imports (JSON buckets, HdrHistogram encoding).
    std::int64_t lowest_discernible() const noexcept { return lowest_; }
    std::int64_t highest_trackable() const noexcept { return highest_; }
    int significant_digits() const noexcept { return digits_; }
    std::size_t counts_length() const noexcept { return counts_len_; }
    std::int64_t count_at_index(std::size_t index) const noexcept { return counts_[index]; }
    // Adds n to one counter (min and max become that counter's lowest value; an importer
    // that knows the exact extremes passes them to include_extremes afterwards).
    void add_at_index(std::size_t index, std::int64_t n) noexcept;
    void include_extremes(std::int64_t min, std::int64_t max) noexcept;
    std::size_t index_of(std::int64_t value) const noexcept {
        // The bucket is the power of two above the value (at least the first, linear one);
        // the sub-bucket is the value shifted down to 11 significant bits.
        int bucket = 64 - std::countl_zero(static_cast<std::uint64_t>(value) | sub_bucket_mask_) -
                     unit_magnitude_ - (sub_bucket_half_count_magnitude_ + 1);
        std::int64_t sub_bucket = value >> (bucket + unit_magnitude_);
        return (static_cast<std::size_t>(bucket + 1) << sub_bucket_half_count_magnitude_) +
               static_cast<std::size_t>(sub_bucket - sub_bucket_half_count_);
    }
    // The smallest value that lands in counter `index`.
    std::int64_t value_at_index(std::size_t index) const noexcept;
    // The largest value that lands in the same counter as value.
    std::int64_t highest_equivalent(std::int64_t value) const noexcept;
    bool same_layout(const histogram& other) const noexcept {
        return lowest_ == other.lowest_ && highest_ == other.highest_ && digits_ == other.digits_;
    }

private:
    struct free_deleter {
        void operator()(std::int64_t* p) const noexcept;
    };
    std::int64_t bucket_width(std::int64_t value) const noexcept;

    std::int64_t lowest_;
    std::int64_t highest_;
    int digits_;
    int unit_magnitude_ = 0;
    int sub_bucket_half_count_magnitude_ = 0;
    std::int64_t sub_bucket_count_ = 0;
    std::int64_t sub_bucket_half_count_ = 0;
    std::uint64_t sub_bucket_mask_ = 0;
    std::size_t counts_len_ = 0;
    std::unique_ptr<std::int64_t[], free_deleter> counts_;
    std::int64_t total_ = 0;
    std::int64_t max_ = 0;
    std::int64_t min_ = INT64_MAX;
};

}  // namespace loadgen
