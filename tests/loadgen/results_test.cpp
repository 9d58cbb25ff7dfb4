// The results object: the verdict rules, the contract keys, exact histogram export and merge.
#include "loadgen/results.hpp"

#include <gtest/gtest.h>

namespace {

using nlohmann::json;

loadgen::options base_options() {
    loadgen::options o;
    o.port = 1;
    return o;
}

loadgen::run_result clean_result() {
    loadgen::run_result r;
    for (int i = 1; i <= 1000; ++i) {
        r.corrected.record(i * 1000);
        r.uncorrected.record(i * 900);
        r.send_lag.record(i);
    }
    r.connect.record(50'000);
    r.requests = 1000;
    r.measured_s = 1;
    r.threads = 1;
    r.timeseries.push_back({0, 1, 1000, 0, r.corrected.value_at_percentile(50),
                            r.corrected.value_at_percentile(99), r.corrected.max()});
    return r;
}

TEST(Results, CleanRunIsOk) {
    auto v = loadgen::judge(clean_result(), base_options());
    EXPECT_TRUE(v.ok) << v.reason;
}

TEST(Results, AnyValidationFailureFailsTheRun) {
    auto r = clean_result();
    r.errors.mismatch = 1;
    auto o = base_options();
    o.max_error_rate = 1;  // even when errors are otherwise allowed
    auto v = loadgen::judge(r, o);
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.reason.find("validation"), std::string::npos) << v.reason;
}

TEST(Results, ErrorRateAboveTheThresholdFails) {
    auto r = clean_result();
    r.errors.reset = 20;  // 20 / 1020
    auto o = base_options();
    o.max_error_rate = 0.05;
    EXPECT_TRUE(loadgen::judge(r, o).ok);
    o.max_error_rate = 0.01;
    auto v = loadgen::judge(r, o);
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.reason.find("--max-error-rate"), std::string::npos) << v.reason;
    EXPECT_NE(v.reason.find("reset 20"), std::string::npos) << v.reason;
}

TEST(Results, P99AboveTheThresholdFails) {
    auto o = base_options();
    o.max_p99_ms = 0.5;  // the p99 is about 0.99 ms
    auto v = loadgen::judge(clean_result(), o);
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.reason.find("--max-p99-ms"), std::string::npos) << v.reason;
    o.max_p99_ms = 2;
    EXPECT_TRUE(loadgen::judge(clean_result(), o).ok);
}

// Found by tests/fuzz (chronyc_fuzz: a line of chronyc's that is not UTF-8): dump() threw,
// and the run's results were lost after the run; a --label in Latin-1 did the same.
TEST(Results, TextOfALabelThatIsNotUtf8IsWrittenWithAReplacementCharacter) {
    loadgen::options o = base_options();
    o.label = "caf\xe9";
    loadgen::run_result r = clean_result();
    json j = loadgen::to_json(r, o, loadgen::judge(r, o), json::object());
    std::string text = loadgen::results_text(j);
    EXPECT_TRUE(text.ends_with("\n"));
    EXPECT_EQ(json::parse(text)["config"]["label"], "caf\xef\xbf\xbd");  // U+FFFD
}

TEST(Results, JsonHasEveryContractKey) {
    auto r = clean_result();
    auto o = base_options();
    json j = loadgen::to_json(r, o, loadgen::judge(r, o), loadgen::collect_context());
    EXPECT_EQ(j.at("schema_version"), 1);
    for (const char* k : {"host", "os", "kernel", "cpu_model", "cores", "compiler", "git_commit", "date",
                          "build_type", "library_versions", "limits"})
        EXPECT_TRUE(j.at("context").contains(k)) << k;
    for (const char* k : {"nofile", "somaxconn", "ip_local_port_range"})
        EXPECT_TRUE(j.at("context").at("limits").contains(k)) << k;
    for (const char* k :
         {"connections", "depth", "rate", "size", "duration_s", "warmup_s", "mode", "idle", "seed"})
        EXPECT_TRUE(j.at("config").contains(k)) << k;
    const json& s = j.at("summary");
    for (const char* k :
         {"requests", "requests_per_sec", "bytes_sent", "bytes_received", "errors", "validation_failures"})
        EXPECT_TRUE(s.contains(k)) << k;
    for (const char* h : {"corrected", "uncorrected", "connect"})
        for (const char* k : {"p50", "p90", "p99", "p999", "max", "mean"})
            EXPECT_TRUE(s.at("latency_ns").at(h).contains(k)) << h << "." << k;
    EXPECT_TRUE(j.at("histograms").contains("corrected"));
    for (const char* k : {"t", "requests", "p50", "p99", "errors"})
        EXPECT_TRUE(j.at("timeseries").at(0).contains(k)) << k;
    for (const char* k : {"cpu_user_s", "cpu_sys_s", "peak_rss_kb", "send_lag_ns"})
        EXPECT_TRUE(j.at("loadgen").contains(k)) << k;
    EXPECT_EQ(j.at("status"), "ok");
    EXPECT_TRUE(j.contains("reason"));
    EXPECT_EQ(s.at("latency_ns").at("corrected").at("p99"), r.corrected.value_at_percentile(99));
}

TEST(Results, HistogramJsonRoundTripIsExact) {
    loadgen::histogram h;
    for (int i = 0; i < 10000; ++i) h.record(static_cast<std::int64_t>(i) * i * 37 + 11);
    loadgen::histogram back = loadgen::histogram_from_json(loadgen::histogram_to_json(h));
    EXPECT_EQ(back.count(), h.count());
    EXPECT_EQ(back.max(), h.max());
    EXPECT_EQ(back.min(), h.min());
    for (std::size_t i = 0; i < h.counts_length(); ++i)
        ASSERT_EQ(back.count_at_index(i), h.count_at_index(i));
}

TEST(Results, MergeAddsHistogramsAndSumsCounts) {
    auto o = base_options();
    auto a = clean_result();
    auto b = clean_result();
    b.corrected.record(5'000'000'000);
    b.requests = 1001;
    b.errors.timeout = 3;
    a.start_epoch_s = b.start_epoch_s = 1.8e9;  // the same window
    json ja = loadgen::to_json(a, o, loadgen::judge(a, o), json::object());
    json jb = loadgen::to_json(b, o, loadgen::judge(b, o), json::object());
    json m = loadgen::merge_results({ja, jb});
    EXPECT_EQ(m.at("summary").at("requests"), 2001);
    EXPECT_EQ(m.at("summary").at("errors").at("timeout"), 3);
    EXPECT_EQ(m.at("histograms").at("corrected").at("count"), 2001);
    EXPECT_EQ(m.at("summary").at("latency_ns").at("corrected").at("max"), 5'000'000'000);
    loadgen::histogram both = a.corrected;
    both.merge(b.corrected);
    EXPECT_EQ(m.at("summary").at("latency_ns").at("corrected").at("p99"), both.value_at_percentile(99));
    EXPECT_EQ(m.at("timeseries").at(0).at("requests"), 2000);
    EXPECT_EQ(m.at("status"), "failed");  // b had errors beyond the default rate of 0
}

TEST(Results, MergeRejectsSomethingElse) {
    EXPECT_THROW(loadgen::merge_results({json{{"hello", 1}}}), std::runtime_error);
    EXPECT_THROW(loadgen::merge_results({}), std::runtime_error);
}

}  // namespace
