// rot13-load merge on crafted results: it refuses inputs that are not one experiment and
// names the difference, merges them with --force and says so, takes the rate over the
// common window, lines the per-second series up by wall-clock time, reports the spread of
// the start times, and gives percentiles equal to those of one histogram of every value.
#include <gtest/gtest.h>

#include <functional>
#include <ostream>

#include "loadgen/results.hpp"

namespace {

using nlohmann::json;

constexpr double t0 = 1.8e9;  // a window start, seconds since the Unix epoch

// A results object of `seconds` whole seconds of `per_second` lines each, whose window
// opened at `start`, with latencies from `first_ns` on.
json crafted_run(double start, int seconds, int per_second, std::int64_t first_ns = 1000) {
    loadgen::options o;
    o.port = 4000;
    o.label = "g";
    loadgen::run_result r;
    for (int k = 0; k < seconds; ++k) {
        loadgen::histogram h;
        for (int i = 0; i < per_second; ++i) h.record(first_ns + (k * per_second + i) * 37);
        r.corrected.merge(h);
        r.uncorrected.merge(h);
        r.timeseries.push_back({static_cast<double>(k), 1, static_cast<std::uint64_t>(per_second), 0,
                                h.value_at_percentile(50), h.value_at_percentile(99), h.max()});
    }
    r.requests = static_cast<std::uint64_t>(seconds) * static_cast<std::uint64_t>(per_second);
    r.measured_s = seconds;
    r.start_epoch_s = start;
    r.threads = 1;
    return loadgen::to_json(r, o, loadgen::judge(r, o), json{{"host", "h"}});
}

std::string mismatch_of(const std::vector<json>& runs) {
    try {
        loadgen::merge_results(runs, {false, {"a.json", "b.json"}});
    } catch (const loadgen::merge_mismatch& e) {
        return e.what();
    }
    return "";
}

struct mismatch_case {
    const char* name;
    std::function<void(json&)> change;  // applied to the second input
    std::string message;                // a part of the error
};
void PrintTo(const mismatch_case& c, std::ostream* out) {
    *out << c.name;
}

class MergeMismatch : public ::testing::TestWithParam<mismatch_case> {};

TEST_P(MergeMismatch, IsRefusedNamingTheDifference) {
    json a = crafted_run(t0, 5, 100), b = crafted_run(t0, 5, 100);
    GetParam().change(b);
    std::string why = mismatch_of({a, b});
    EXPECT_NE(why.find(GetParam().message), std::string::npos) << why;
    EXPECT_NE(why.find("--force"), std::string::npos) << why;
}

INSTANTIATE_TEST_SUITE_P(
    EachKind, MergeMismatch,
    ::testing::Values(
        mismatch_case{"target_port", [](json& b) { b["config"]["port"] = 4001; },
                      "target differs: a.json 127.0.0.1:4000, b.json 127.0.0.1:4001"},
        mismatch_case{"target_host", [](json& b) { b["config"]["host"] = "10.0.0.2"; }, "target differs"},
        mismatch_case{"mode",
                      [](json& b) {
                          b["config"]["mode"] = "open";
                          b["config"]["rate"] = 1000;
                      },
                      "mode differs: a.json closed, b.json open"},
        mismatch_case{"line_size", [](json& b) { b["config"]["size"] = 1024; },
                      "line size differs: a.json 16, b.json 1024"},
        mismatch_case{"depth", [](json& b) { b["config"]["depth"] = 16; },
                      "depth differs: a.json 1, b.json 16"},
        mismatch_case{"window_4_of_5_s",
                      [](json& b) {
                          b["summary"]["duration_s"] = 4.0;
                          b["timeseries"].erase(4);
                      },
                      "windows overlap by only 80.0 %"},
        mismatch_case{"window_later", [](json& b) { b["summary"]["window_start_epoch_s"] = t0 + 0.5; },
                      "windows overlap by only 90.0 %"},
        mismatch_case{"no_window_start", [](json& b) { b["summary"].erase("window_start_epoch_s"); },
                      "b.json has no summary.window_start_epoch_s"}),
    [](const ::testing::TestParamInfo<mismatch_case>& param_info) {
        return std::string(param_info.param.name);
    });

TEST(Merge, OpenLoopRunsMustHaveTheSameRatePerGenerator) {
    json a = crafted_run(t0, 5, 100), b = crafted_run(t0, 5, 100);
    for (json* j : {&a, &b}) (*j)["config"]["mode"] = "open";
    a["config"]["rate"] = 1000;
    b["config"]["rate"] = 2000;
    std::string why = mismatch_of({a, b});
    EXPECT_NE(why.find("rate per generator differs: a.json 1000 lines/s, b.json 2000 lines/s"),
              std::string::npos)
        << why;
    b["config"]["rate"] = 1000;
    json m = loadgen::merge_results({a, b});
    EXPECT_EQ(m.at("config").at("rate"), 2000);  // lines/s in total
}

TEST(Merge, OverlapOfNinetyFivePercentIsOneExperiment) {
    json a = crafted_run(t0, 20, 100), b = crafted_run(t0 + 1, 20, 100);
    EXPECT_EQ(mismatch_of({a, b}), "");
}

TEST(Merge, ForceMergesAnywayAndRecordsWhy) {
    // The case: runs of 5 s and 4 s against different servers.
    json a = crafted_run(t0, 5, 30000), b = crafted_run(t0, 4, 40000);
    b["config"]["port"] = 4001;
    json m = loadgen::merge_results({a, b}, {true, {"a.json", "b.json"}});
    const json& merge = m.at("merge");
    EXPECT_TRUE(merge.at("forced").get<bool>());
    ASSERT_EQ(merge.at("mismatches").size(), 2u);
    EXPECT_NE(merge.at("mismatches")[0].get<std::string>().find("target differs"), std::string::npos);
    EXPECT_NE(merge.at("mismatches")[1].get<std::string>().find("80.0 %"), std::string::npos);
    EXPECT_NE(m.at("reason").get<std::string>().find("merged with --force"), std::string::npos);
    EXPECT_EQ(m.at("summary").at("requests"), 5 * 30000 + 4 * 40000);
    // The common window is the first 4 s: 4 × 30,000 + 4 × 40,000 lines in it.
    EXPECT_DOUBLE_EQ(m.at("summary").at("duration_s").get<double>(), 4.0);
    EXPECT_DOUBLE_EQ(m.at("summary").at("requests_per_sec").get<double>(), 70000.0);
    EXPECT_EQ(merge.at("common_window_requests"), 4 * 70000);
}

TEST(Merge, RateIsTakenOverTheCommonWindow) {
    // b opened 0.25 s later: the common window is 9.75 s, and a's first quarter second
    // and b's last one lie outside it.
    json a = crafted_run(t0, 10, 1000), b = crafted_run(t0 + 0.25, 10, 3000);
    json m = loadgen::merge_results({a, b});
    const json& s = m.at("summary");
    EXPECT_EQ(s.at("requests"), 40000);  // the sum of the parts, whole windows
    EXPECT_DOUBLE_EQ(s.at("duration_s").get<double>(), 9.75);
    EXPECT_NEAR(s.at("requests_per_sec").get<double>(), 4000.0, 1e-6);
    EXPECT_DOUBLE_EQ(s.at("window_start_epoch_s").get<double>(), t0 + 0.25);
    EXPECT_NEAR(m.at("merge").at("start_spread_ms").get<double>(), 250.0, 1e-3);
    EXPECT_NEAR(m.at("merge").at("window_overlap").get<double>(), 0.975, 1e-9);
}

TEST(Merge, PerSecondSeriesAreLinedUpByWallClockTime) {
    // b's window opened 2 s after a's: its second 0 is a's second 2.
    json a = crafted_run(t0, 40, 10), b = crafted_run(t0 + 2, 40, 1000);
    json m = loadgen::merge_results({a, b});
    const json& ts = m.at("timeseries");
    ASSERT_EQ(ts.size(), 42u);
    EXPECT_EQ(ts[0].at("requests"), 10);
    EXPECT_EQ(ts[0].at("generators"), 1);
    EXPECT_EQ(ts[2].at("requests"), 1010);
    EXPECT_EQ(ts[2].at("generators"), 2);
    EXPECT_EQ(ts[41].at("requests"), 1000);
    EXPECT_DOUBLE_EQ(m.at("merge").at("timeseries_origin_epoch_s").get<double>(), t0);
}

TEST(Merge, PercentilesEqualThoseOfOneHistogramOfEveryValue) {
    // Different latency ranges in each input, so that the merged percentiles differ from
    // either input's.
    json a = crafted_run(t0, 3, 5000, 1000), b = crafted_run(t0, 3, 2000, 2'000'000);
    loadgen::histogram all = loadgen::histogram_from_json(a.at("histograms").at("corrected"));
    all.merge(loadgen::histogram_from_json(b.at("histograms").at("corrected")));
    loadgen::histogram direct;  // every value recorded into one histogram
    for (auto [per_second, first] : {std::pair{5000, 1000}, std::pair{2000, 2'000'000}})
        for (int k = 0; k < 3 * per_second; ++k) direct.record(first + k * 37);
    json m = loadgen::merge_results({a, b});
    const json& p = m.at("summary").at("latency_ns").at("corrected");
    EXPECT_EQ(p.at("count"), 21000);
    for (auto [key, percentile] : {std::pair{"p50", 50.0}, std::pair{"p90", 90.0}, std::pair{"p99", 99.0},
                                   std::pair{"p999", 99.9}, std::pair{"p9999", 99.99}})
        EXPECT_EQ(p.at(key).get<std::int64_t>(), direct.value_at_percentile(percentile)) << key;
    EXPECT_EQ(p.at("max"), direct.max());
    EXPECT_EQ(p.at("min"), direct.min());
    EXPECT_EQ(all.value_at_percentile(99), direct.value_at_percentile(99));
}

TEST(Merge, EachInputIsListedWithItsFigures) {
    json a = crafted_run(t0, 5, 100), b = crafted_run(t0 + 0.003, 5, 300);
    b["config"]["label"] = "g2";
    json m = loadgen::merge_results({a, b}, {false, {"a.json", "b.json"}});
    const json& inputs = m.at("merge").at("inputs");
    ASSERT_EQ(inputs.size(), 2u);
    EXPECT_EQ(inputs[1].at("label"), "g2");
    EXPECT_EQ(inputs[1].at("file"), "b.json");
    EXPECT_EQ(inputs[1].at("requests"), 1500);
    EXPECT_TRUE(inputs[1].at("p99_ns").is_number());
    EXPECT_TRUE(inputs[1].contains("clock_offset_s"));
    EXPECT_EQ(m.at("config").at("label"), "g+g2");
    EXPECT_NEAR(m.at("merge").at("start_spread_ms").get<double>(), 3.0, 1e-3);
}

TEST(Merge, AFailedGeneratorFailsTheMergeNamingItAndKeepsTheOthers) {
    json a = crafted_run(t0, 5, 100), b = crafted_run(t0, 5, 100);
    b["config"]["label"] = "g2";
    b["status"] = "failed";
    b["reason"] = "12 validation failures";
    json m = loadgen::merge_results({a, b});
    EXPECT_EQ(m.at("status"), "failed");
    EXPECT_EQ(m.at("reason"), "g2: 12 validation failures");
    EXPECT_EQ(m.at("summary").at("requests"), 1000);
    EXPECT_EQ(m.at("merge").at("inputs")[1].at("status"), "failed");
}

TEST(Merge, HistogramsOfAnotherLayoutAreRefused) {
    json a = crafted_run(t0, 2, 10), b = crafted_run(t0, 2, 10);
    b["histograms"]["corrected"]["significant_digits"] = 2;
    EXPECT_THROW(loadgen::merge_results({a, b}), std::runtime_error);
}

// Found by tests/fuzz (merge_fuzz, corpus/merge/regression-*): a number that no integer
// holds was converted all the same (undefined behaviour), and counts could add up past
// 2^63. Each is refused, naming the file and the key.
class MergeBadValue : public ::testing::TestWithParam<mismatch_case> {};  // a case of another error

TEST_P(MergeBadValue, IsRefusedNamingTheFileAndTheKey) {
    json a = crafted_run(t0, 2, 10), b = crafted_run(t0, 2, 10);
    GetParam().change(b);
    try {
        loadgen::merge_results({a, b}, {false, {"a.json", "b.json"}});
        FAIL() << "merged";
    } catch (const loadgen::bad_results_value& e) {
        EXPECT_NE(std::string(e.what()).find("b.json: " + GetParam().message), std::string::npos) << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    Values, MergeBadValue,
    ::testing::Values(
        mismatch_case{"bucket_value_beyond_any_integer",
                      [](json& j) {
                          j["histograms"]["corrected"]["buckets"] = {{1e300, 1}};
                      },
                      "buckets[][0]: expected an integer from 0 to 3600000000000, got 1e+300"},
        mismatch_case{"negative_count",
                      [](json& j) {
                          j["histograms"]["corrected"]["buckets"] = {{5, -1}};
                      },
                      "buckets[][1]: expected an integer from 0"},
        mismatch_case{"counts_past_2_to_the_63",
                      [](json& j) {
                          j["histograms"]["corrected"]["buckets"] = {{5, INT64_MAX}, {6, INT64_MAX}};
                      },
                      "buckets: the counts add up to more than 2^63"},
        mismatch_case{"connections_beyond_any_integer",
                      [](json& j) { j["summary"]["connections"]["requested"] = 1e300; },
                      "summary.connections.requested: expected an integer"},
        mismatch_case{"fractional_count", [](json& j) { j["summary"]["requests"] = 2.5; },
                      "requests: expected an integer"},
        mismatch_case{"peak_rss_beyond_any_integer", [](json& j) { j["loadgen"]["peak_rss_kb"] = 1e300; },
                      "peak_rss_kb: expected an integer"}),
    [](const ::testing::TestParamInfo<mismatch_case>& param_info) {
        return std::string(param_info.param.name);
    });

}  // namespace
