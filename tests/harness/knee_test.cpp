// "mode": "knee" (harness/knee.hpp) against a server whose capacity is set: rot13-fault
// --line-cost-us 200 spends 200 µs of CPU on every line, so it cannot answer more than
// 5,000 lines/s, and its p99 explodes once the offered rate passes what it can do.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench_process.hpp"
#include "json_schema.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

class Knee : public ::testing::Test {
protected:
    void SetUp() override {
        if (!ROT13_LOAD_AVAILABLE) GTEST_SKIP() << "rot13-load is not built here";
        if (std::string(ROT13_FAULT_BINARY).empty()) GTEST_SKIP() << "rot13-fault is not built here";
        std::string pattern = (fs::temp_directory_path() / "rot13-knee-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override {
        if (!HasFailure()) fs::remove_all(dir_);
    }

    nlohmann::json run_knee(std::vector<std::string> fault_flags, double max_rate, double p99_ms = 20) {
        std::vector<std::string> command{ROT13_FAULT_BINARY, "--port", "{port}"};
        command.insert(command.end(), fault_flags.begin(), fault_flags.end());
        nlohmann::json suite = {
            {"name", "knee"}, {"duration_s", 0.5}, {"warmup_s", 0.2}, {"repetitions", 1}, {"seed", 1},
            {"servers", {{{"name", "fault"}, {"command", command}}}},
            {"loads",
             {{{"mode", "knee"}, {"connections", 10}, {"p99_ms", p99_ms}, {"start_rate", 500}, {"max_rate", max_rate}}}}};
        std::ofstream(dir_ / "suite.json") << suite.dump();
        auto result = rot13::test::run_bench(
            ROT13_BENCH_BINARY, {"run", (dir_ / "suite.json").string(), "--out", (dir_ / "out").string()}, dir_,
            180s);
        EXPECT_EQ(result.status, 0) << result.err;
        std::ifstream in(dir_ / "out" / "results.json");
        nlohmann::json doc = nlohmann::json::parse(in);
        std::ifstream schema_in(ROT13_SCHEMA_FILE);
        auto errors = rot13::test::validate_schema(nlohmann::json::parse(schema_in), doc);
        EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front());
        return doc["runs"][0];
    }

    fs::path dir_;
};

TEST_F(Knee, FindsTheKneeOfAServerOfKnownCapacity) {
    nlohmann::json run = run_knee({"--line-cost-us", "200"}, 50000);
    ASSERT_EQ(run["status"], "ok") << run["reason"];
    const auto& knee = run["knee"];
    ASSERT_TRUE(knee["rate"].is_number()) << knee.dump();
    const double rate = knee["rate"], upper = knee["upper"];
    // Never above the capacity (5,000 lines/s, less on a CPU shared with anything else),
    // and above the start, which an idle server meets easily.
    EXPECT_GE(rate, 500);
    EXPECT_LE(rate, 5000);
    // Bracketed to the tolerance, with the upper rate really failing.
    EXPECT_LE(upper, rate * 1.05 + 1);
    EXPECT_GT(upper, rate);
    bool upper_failed = false;
    for (const auto& p : knee["probes"])
        if (p["rate"] == upper) upper_failed = !p["passed"].get<bool>();
    EXPECT_TRUE(upper_failed);
    // The run's figures are the knee probe's.
    EXPECT_NEAR(run["summary"]["requests_per_sec"].get<double>(), rate, rate * 0.05);
    EXPECT_LE(run["summary"]["latency_ns"]["corrected"]["p99"].get<double>(), 20e6);
    EXPECT_EQ(run["config"]["mode"], "knee");
}

TEST_F(Knee, AServerThatKeepsUpReachesMaxRate) {
    // Without the cost the same server answers 8,000 lines/s easily: the search doubles up
    // to max_rate, which passes, so there is no upper bound. Its p99 is well under a
    // millisecond, but a 2-vCPU VM pauses for 20 ms now and then, and in a probe of 0.5 s
    // one such pause breaks a 20 ms p99 (seen once in a clean-clone CI run): the target here
    // is 100 ms, which only a server that falls behind can miss.
    nlohmann::json run = run_knee({}, 8000, 100);
    ASSERT_EQ(run["status"], "ok") << run["reason"];
    EXPECT_EQ(run["knee"]["rate"], 8000);
    EXPECT_TRUE(run["knee"]["upper"].is_null());
    EXPECT_EQ(run["knee"]["probes"].size(), 5u);  // 500, 1000, 2000, 4000, 8000
}

TEST_F(Knee, NoPassingRateIsAFailedRunWithItsReason) {
    // 30 ms per line: no line is answered within the 20 ms target, at any rate, so every
    // probe fails, from 500 lines/s down to 500 / 64.
    nlohmann::json run = run_knee({"--line-cost-us", "30000"}, 1000);
    EXPECT_EQ(run["status"], "failed");
    EXPECT_TRUE(run["knee"]["rate"].is_null());
    EXPECT_NE(run["reason"].get<std::string>().find("knee: no rate"), std::string::npos) << run["reason"];
}

}  // namespace
