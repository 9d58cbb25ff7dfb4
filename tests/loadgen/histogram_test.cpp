// The histogram: HdrHistogram's layout, its accuracy bound, percentiles, merge, reset.
#include "loadgen/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace {

using loadgen::histogram;

TEST(Histogram, LayoutMatchesHdrHistogramForOneNanosecondToOneHour) {
    histogram h;
    // 3 significant digits: 2048 sub-buckets, half-count 1024; 1 h = 3.6e12 ns needs 32
    // buckets, so (32 + 1) * 1024 counters, as HdrHistogram computes it.
    EXPECT_EQ(h.counts_length(), 33u * 1024u);
    EXPECT_EQ(h.index_of(0), 0u);
    EXPECT_EQ(h.index_of(2047), 2047u);
    EXPECT_EQ(h.index_of(2048), 2048u);
    EXPECT_EQ(h.index_of(2049), 2048u);  // width 2 from 2048 on
    EXPECT_EQ(h.index_of(4096), 3072u);
    EXPECT_EQ(h.value_at_index(2048), 2048);
    EXPECT_EQ(h.value_at_index(3072), 4096);
    EXPECT_EQ(h.highest_equivalent(2048), 2049);
}

TEST(Histogram, EveryValueLandsInABucketNarrowerThanOneThousandthOfIt) {
    histogram h;
    std::mt19937_64 rng(7);
    for (int i = 0; i < 200000; ++i) {
        auto v = static_cast<std::int64_t>(
            std::exp(std::uniform_real_distribution<double>(0, std::log(3.6e12))(rng)));
        std::size_t index = h.index_of(v);
        std::int64_t low = h.value_at_index(index);
        std::int64_t high = h.highest_equivalent(v);
        ASSERT_LE(low, v);
        ASSERT_GE(high, v);
        if (v < 2048)
            ASSERT_EQ(low, high) << v;  // exact below 2048
        else
            ASSERT_LE(static_cast<double>(high - low + 1), static_cast<double>(v) / 1000.0 * 1.0001) << v;
    }
}

TEST(Histogram, PercentilesAreWithinOneThousandthOfTheExactOnes) {
    histogram h;
    std::mt19937_64 rng(11);
    std::lognormal_distribution<double> latency(std::log(50'000.0), 1.0);
    std::vector<std::int64_t> values;
    for (int i = 0; i < 100000; ++i) {
        auto v = static_cast<std::int64_t>(latency(rng));
        values.push_back(v);
        h.record(v);
    }
    std::sort(values.begin(), values.end());
    for (double p : {1.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99}) {
        auto rank = static_cast<std::size_t>(
            std::max(1.0, std::round(p / 100.0 * static_cast<double>(values.size()))));
        std::int64_t exact = values[rank - 1];
        std::int64_t got = h.value_at_percentile(p);
        EXPECT_GE(got, exact) << "p" << p;
        EXPECT_LE(static_cast<double>(got - exact), static_cast<double>(exact) / 1000.0 + 1) << "p" << p;
    }
    EXPECT_EQ(h.value_at_percentile(100), values.back());
}

TEST(Histogram, TracksCountMinMaxAndMean) {
    histogram h;
    EXPECT_EQ(h.count(), 0);
    EXPECT_EQ(h.max(), 0);
    EXPECT_EQ(h.value_at_percentile(99), 0);
    for (std::int64_t v : {1000, 2000, 3000, 4000}) h.record(v);
    EXPECT_EQ(h.count(), 4);
    EXPECT_EQ(h.min(), 1000);
    EXPECT_EQ(h.max(), 4000);
    EXPECT_NEAR(h.mean(), 2500.0, 2500.0 / 1000);
    EXPECT_EQ(h.value_at_percentile(50), 2000);  // exact: below 2048 every bucket is one value wide
    h.record(3001);
    EXPECT_EQ(h.value_at_percentile(100), 4000);
}

TEST(Histogram, ClampsValuesOutsideItsRange) {
    histogram h;
    h.record(-5);
    h.record(h.highest_trackable() * 10);
    EXPECT_EQ(h.count(), 2);
    EXPECT_EQ(h.min(), 0);
    EXPECT_EQ(h.max(), h.highest_trackable());
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
    histogram a, b, all;
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<std::int64_t> value(0, 5'000'000'000);
    for (int i = 0; i < 50000; ++i) {
        std::int64_t v = value(rng);
        (i % 3 ? a : b).record(v);
        all.record(v);
    }
    a.merge(b);
    EXPECT_EQ(a.count(), all.count());
    EXPECT_EQ(a.max(), all.max());
    EXPECT_EQ(a.min(), all.min());
    for (std::size_t i = 0; i < all.counts_length(); ++i)
        ASSERT_EQ(a.count_at_index(i), all.count_at_index(i)) << i;
    EXPECT_EQ(a.value_at_percentile(99.9), all.value_at_percentile(99.9));
    EXPECT_DOUBLE_EQ(a.mean(), all.mean());
}

TEST(Histogram, MergeRejectsAnotherLayout) {
    histogram a;
    histogram b(1, 1'000'000, 2);
    EXPECT_THROW(a.merge(b), std::invalid_argument);
}

TEST(Histogram, ResetForgetsEverything) {
    histogram h;
    for (int i = 1; i < 1000; ++i) h.record(i * 12345);
    h.reset();
    EXPECT_EQ(h.count(), 0);
    for (std::size_t i = 0; i < h.counts_length(); ++i) ASSERT_EQ(h.count_at_index(i), 0);
    h.record(7);
    EXPECT_EQ(h.max(), 7);
    EXPECT_EQ(h.min(), 7);
}

TEST(Histogram, CopiesAreIndependent) {
    histogram a;
    a.record(10);
    histogram b = a;
    b.record(20);
    EXPECT_EQ(a.count(), 1);
    EXPECT_EQ(b.count(), 2);
}

}  // namespace
