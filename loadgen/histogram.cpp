#include "loadgen/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace loadgen {

void histogram::free_deleter::operator()(std::int64_t* p) const noexcept {
    std::free(p);
}

histogram::histogram(std::int64_t lowest_discernible, std::int64_t highest_trackable, int significant_digits)
    : lowest_(lowest_discernible), highest_(highest_trackable), digits_(significant_digits) {
    if (lowest_ < 1 || significant_digits < 1 || significant_digits > 5 || highest_ < 2 * lowest_)
        throw std::invalid_argument(
            "histogram: need lowest >= 1, highest >= 2 * lowest, 1..5 significant digits");
    // The same arithmetic as HdrHistogram's bucket configuration, so that the index of
    // every value, and therefore the encoded counts, are identical to its own.
    std::int64_t largest_with_unit_resolution = 2;
    for (int i = 0; i < digits_; ++i) largest_with_unit_resolution *= 10;
    int sub_bucket_count_magnitude =
        static_cast<int>(std::ceil(std::log2(static_cast<double>(largest_with_unit_resolution))));
    sub_bucket_half_count_magnitude_ = std::max(sub_bucket_count_magnitude, 1) - 1;
    unit_magnitude_ = static_cast<int>(std::floor(std::log2(static_cast<double>(lowest_))));
    sub_bucket_count_ = std::int64_t{1} << (sub_bucket_half_count_magnitude_ + 1);
    sub_bucket_half_count_ = sub_bucket_count_ / 2;
    sub_bucket_mask_ = static_cast<std::uint64_t>(sub_bucket_count_ - 1) << unit_magnitude_;
    if (unit_magnitude_ + sub_bucket_half_count_magnitude_ > 61)
        throw std::invalid_argument("histogram: range too large for 64-bit values");

    // Buckets needed so that the last one covers highest_trackable.
    std::int64_t smallest_untrackable = sub_bucket_count_ << unit_magnitude_;
    int buckets = 1;
    while (smallest_untrackable <= highest_) {
        if (smallest_untrackable > INT64_MAX / 2) {
            ++buckets;
            break;
        }
        smallest_untrackable <<= 1;
        ++buckets;
    }
    counts_len_ = static_cast<std::size_t>(buckets + 1) * static_cast<std::size_t>(sub_bucket_half_count_);
    // calloc, not new[]()/vector: large zeroed blocks come straight from mmap and stay
    // unbacked until touched, so a histogram costs memory only where values land.
    counts_.reset(static_cast<std::int64_t*>(std::calloc(counts_len_, sizeof(std::int64_t))));
    if (!counts_) throw std::bad_alloc();
}

histogram::histogram(const histogram& other) : histogram(other.lowest_, other.highest_, other.digits_) {
    merge(other);
}

histogram& histogram::operator=(const histogram& other) {
    if (this != &other) {
        histogram copy(other);
        *this = std::move(copy);
    }
    return *this;
}

void histogram::merge(const histogram& other) {
    if (!same_layout(other))
        throw std::invalid_argument("histogram: cannot merge histograms of different layouts");
    if (other.total_ == 0) return;
    // No counter can pass 2^63 if the total does not (counts are never negative).
    if (other.total_ > INT64_MAX - total_)
        throw std::overflow_error("histogram: the counts add up to more than 2^63");
    std::size_t end = other.index_of(other.max_) + 1;
    for (std::size_t i = 0; i < end; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
}

void histogram::reset() noexcept {
    if (total_ == 0) return;
    std::memset(counts_.get(), 0, (index_of(max_) + 1) * sizeof(std::int64_t));
    total_ = 0;
    max_ = 0;
    min_ = INT64_MAX;
}

void histogram::add_at_index(std::size_t index, std::int64_t n) noexcept {
    if (n == 0 || index >= counts_len_) return;
    counts_[index] += n;
    total_ += n;
    std::int64_t value = value_at_index(index);
    max_ = std::max(max_, value);
    min_ = std::min(min_, value);
}

void histogram::include_extremes(std::int64_t min, std::int64_t max) noexcept {
    if (total_ == 0) return;
    max_ = std::clamp(std::max(max_, max), std::int64_t{0}, highest_);
    min_ = std::clamp(std::min(min_, min), std::int64_t{0}, highest_);
}

std::int64_t histogram::value_at_index(std::size_t index) const noexcept {
    int bucket = static_cast<int>(index >> sub_bucket_half_count_magnitude_) - 1;
    std::int64_t sub_bucket =
        static_cast<std::int64_t>(index & static_cast<std::size_t>(sub_bucket_half_count_ - 1)) +
        sub_bucket_half_count_;
    if (bucket < 0) {
        sub_bucket -= sub_bucket_half_count_;
        bucket = 0;
    }
    return sub_bucket << (bucket + unit_magnitude_);
}

// The width of the bucket that holds value (all values in it are "equivalent").
std::int64_t histogram::bucket_width(std::int64_t value) const noexcept {
    int bucket = 64 - std::countl_zero(static_cast<std::uint64_t>(value) | sub_bucket_mask_) -
                 unit_magnitude_ - (sub_bucket_half_count_magnitude_ + 1);
    std::int64_t sub_bucket = value >> (bucket + unit_magnitude_);
    int adjusted = sub_bucket >= sub_bucket_count_ ? bucket + 1 : bucket;
    return std::int64_t{1} << (unit_magnitude_ + adjusted);
}

std::int64_t histogram::highest_equivalent(std::int64_t value) const noexcept {
    std::int64_t lowest = value_at_index(index_of(value));
    return lowest + bucket_width(value) - 1;
}

double histogram::mean() const noexcept {
    if (total_ == 0) return 0.0;
    double sum = 0.0;
    std::size_t end = index_of(max_) + 1;
    for (std::size_t i = 0; i < end; ++i) {
        if (counts_[i] == 0) continue;
        std::int64_t low = value_at_index(i);
        double middle = static_cast<double>(low) + static_cast<double>(bucket_width(low) / 2);
        sum += middle * static_cast<double>(counts_[i]);
    }
    // The middle of the top bucket can lie above the exact maximum; so can the mean of a
    // histogram with a single value. Keep the mean within [min, max].
    double mean = sum / static_cast<double>(total_);
    return std::clamp(mean, static_cast<double>(min_), static_cast<double>(max_));
}

std::int64_t histogram::value_at_percentile(double percentile) const noexcept {
    if (total_ == 0) return 0;
    double p = std::clamp(percentile, 0.0, 100.0);
    // The rank as HdrHistogram computes it: rounded, at least the first value.
    auto rank = static_cast<std::int64_t>(p / 100.0 * static_cast<double>(total_) + 0.5);
    rank = std::max<std::int64_t>(rank, 1);
    std::int64_t seen = 0;
    std::size_t end = index_of(max_) + 1;
    for (std::size_t i = 0; i < end; ++i) {
        seen += counts_[i];
        if (seen >= rank) return std::min(highest_equivalent(value_at_index(i)), max_);
    }
    return max_;
}

}  // namespace loadgen
