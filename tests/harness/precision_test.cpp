// --precision: the interval of the median (harness/precision.hpp) on known values, the
// choice of the next round on fixture results, and two short real suites that stop on the
// target and on the budget.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench_process.hpp"
#include "harness/precision.hpp"
#include "json_schema.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using harness::run_config;

namespace {

TEST(MedianInterval, FiveValuesHaveNoNinetyFivePercentInterval) {
    auto m = harness::median_with_interval({5, 1, 4, 2, 3});
    EXPECT_EQ(m.median, 3);
    EXPECT_FALSE(m.low.has_value());
    EXPECT_FALSE(m.half_width_percent.has_value());
}

TEST(MedianInterval, SixValuesSpanFromTheSmallestToTheLargest) {
    // P(B(6, 1/2) < 1) = 1/64 <= 2.5 %, P(B < 2) = 7/64 > 2.5 %: ranks 1 and 6.
    auto m = harness::median_with_interval({10, 12, 9, 11, 8, 13});
    EXPECT_EQ(m.median, 10.5);
    EXPECT_EQ(*m.low, 8);
    EXPECT_EQ(*m.high, 13);
    EXPECT_NEAR(*m.half_width_percent, 2.5 / 10.5 * 100, 1e-9);
}

TEST(MedianInterval, NineValuesUseTheSecondAndTheEighth) {
    // P(B(9, 1/2) < 2) = 10/512 <= 2.5 %, P(B < 3) = 46/512 > 2.5 %.
    auto m = harness::median_with_interval({1, 2, 3, 4, 5, 6, 7, 8, 100});
    EXPECT_EQ(m.median, 5);
    EXPECT_EQ(*m.low, 2);
    EXPECT_EQ(*m.high, 8);
    EXPECT_NEAR(*m.half_width_percent, 60, 1e-9);  // (5 - 2) / 5: the outlier is outside
}

// Fixture: cell "tight" has six runs within ±1 %, "wide" six runs spread ±20 %, "broken"
// only failures, and "absent" is a configuration that is not built here.
struct Fixture : ::testing::Test {
    std::vector<run_config> runs;
    nlohmann::ordered_json recorded = nlohmann::ordered_json::array();

    void add_cell(const std::string& cell, const std::vector<double>& values, const char* status,
                  const std::string& skip = "") {
        for (std::size_t i = 0; i < values.size(); ++i) {
            run_config r;
            r.cell = cell;
            r.repetition = static_cast<int>(i) + 1;
            r.id = cell + "/rep" + std::to_string(r.repetition);
            r.server.label = cell;
            r.server.skip_reason = skip;
            runs.push_back(r);
            recorded.push_back({{"id", r.id},
                                {"status", status},
                                {"config", {{"repetition", r.repetition}}},
                                {"server", {{"cpu_us_per_line", values[i]}}},
                                {"summary", {{"requests_per_sec", 1000 * values[i]}}}});
        }
    }
};

TEST_F(Fixture, ANextRoundRepeatsOnlyTheWideCellsThatHaveOkRuns) {
    add_cell("tight", {10, 10.1, 9.9, 10, 10.05, 9.95}, "ok");
    add_cell("wide", {8, 12, 10, 9, 11, 10}, "ok");
    add_cell("broken", {1, 1, 1, 1, 1, 1}, "failed");
    add_cell("absent", {1}, "skipped", "not built here");
    auto cells = harness::assess(runs, recorded);
    ASSERT_EQ(cells.size(), 3u);  // the skipped configuration is not assessed
    EXPECT_TRUE(cells[0].within(3));
    EXPECT_FALSE(cells[1].within(3));
    EXPECT_FALSE(cells[2].within(3));
    auto round = harness::next_round(runs, cells, 3, 42);
    ASSERT_EQ(round.size(), 1u);
    EXPECT_EQ(round[0].id, "wide/rep7");
    EXPECT_EQ(round[0].repetition, 7);
    EXPECT_TRUE(cells[1].within(25));  // ±20 % is within ±25 %
    EXPECT_TRUE(harness::next_round(runs, harness::assess(runs, recorded), 25, 42).empty());
}

TEST_F(Fixture, FiveRunsAreNeverWithinAndAskForASixth) {
    add_cell("few", {10, 10, 10, 10, 10}, "ok");
    auto cells = harness::assess(runs, recorded);
    EXPECT_FALSE(cells[0].within(50));
    auto round = harness::next_round(runs, cells, 50, 1);
    ASSERT_EQ(round.size(), 1u);
    EXPECT_EQ(round[0].id, "few/rep6");
}

// ---- real runs ---------------------------------------------------------------------------

class PrecisionRun : public ::testing::Test {
protected:
    void SetUp() override {
        if (!ROT13_LOAD_AVAILABLE) GTEST_SKIP() << "rot13-load is not built here";
        std::string pattern = (fs::temp_directory_path() / "rot13-precision-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        nlohmann::json suite = {{"name", "precision"}, {"duration_s", 0.2}, {"warmup_s", 0.05},
                                {"repetitions", 2},    {"seed", 3},
                                {"servers", {{{"variant", "select"}}}},
                                {"loads", {{{"mode", "closed"}, {"connections", 1}}}}};
        std::ofstream(dir_ / "suite.json") << suite.dump();
    }
    void TearDown() override {
        if (!HasFailure()) fs::remove_all(dir_);
    }

    nlohmann::json run(std::vector<std::string> extra, rot13::test::bench_result& result) {
        std::vector<std::string> args{"run", (dir_ / "suite.json").string(), "--out", (dir_ / "out").string()};
        args.insert(args.end(), extra.begin(), extra.end());
        result = rot13::test::run_bench(ROT13_BENCH_BINARY, args, dir_, 120s);
        std::ifstream in(dir_ / "out" / "results.json");
        nlohmann::json doc = nlohmann::json::parse(in);
        std::ifstream schema_in(ROT13_SCHEMA_FILE);
        auto errors = rot13::test::validate_schema(nlohmann::json::parse(schema_in), doc);
        EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front());
        return doc;
    }

    fs::path dir_;
};

TEST_F(PrecisionRun, StopsOnTheTargetOnceEveryConfigurationIsWithin) {
    rot13::test::bench_result result;
    // ±60 % is usually reached as soon as there are 6 runs (4 rounds after the 2 planned),
    // later on a busy machine: either way it ends on the target, with one run per round.
    nlohmann::json doc = run({"--precision", "60", "--budget", "120"}, result);
    ASSERT_EQ(result.status, 0) << result.err;
    const auto& p = doc["precision"];
    EXPECT_EQ(p["stopped"], "target") << result.err;
    ASSERT_EQ(p["configurations"].size(), 1u);
    const int runs = p["configurations"][0]["repetitions"];
    EXPECT_GE(runs, 6);
    EXPECT_EQ(p["extra_rounds"], runs - 2);
    EXPECT_TRUE(p["configurations"][0]["within_target"].get<bool>());
    EXPECT_LE(p["configurations"][0]["cpu_us_per_line"]["half_width_percent"].get<double>(), 60);
    EXPECT_EQ(doc["runs"].size(), static_cast<std::size_t>(runs));
    EXPECT_EQ(doc["suite"]["order"].size(), static_cast<std::size_t>(runs));  // the extra rounds join the order
    EXPECT_NE(result.err.find("precision round 1"), std::string::npos);
    const std::string counted = std::to_string(runs) + "/" + std::to_string(runs);
    EXPECT_NE(result.out.find(counted), std::string::npos) << result.out;  // the table counts them
}

TEST_F(PrecisionRun, StopsOnTheBudget) {
    rot13::test::bench_result result;
    // ±0.001 % is out of reach: only the 1 s budget ends it, after the round it started.
    nlohmann::json doc = run({"--precision", "0.001", "--budget", "1"}, result);
    ASSERT_EQ(result.status, 0) << result.err;
    const auto& p = doc["precision"];
    EXPECT_EQ(p["stopped"], "budget");
    EXPECT_GE(p["extra_rounds"].get<int>(), 1);
    EXPECT_GE(p["spent_s"].get<double>(), 1.0);
    EXPECT_LT(p["spent_s"].get<double>(), 10.0);
    EXPECT_FALSE(p["configurations"][0]["within_target"].get<bool>());
    EXPECT_NE(result.err.find("not within"), std::string::npos);
}

TEST_F(PrecisionRun, BudgetWithoutPrecisionIsAUsageError) {
    rot13::test::bench_result result =
        rot13::test::run_bench(ROT13_BENCH_BINARY, {"run", (dir_ / "suite.json").string(), "--budget", "5"}, dir_, 30s);
    EXPECT_EQ(result.status, 2);
    EXPECT_NE(result.err.find("give --precision too"), std::string::npos) << result.err;
}

}  // namespace
