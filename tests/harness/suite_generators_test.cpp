// The suite key loads[].generators and rot13-bench run --generators: how a suite names
// several load generators, and the errors a mistake in it gives (parse_suite, in this
// process); then rot13-bench itself: the option, and a run of two generators here plus one
// whose host does not exist (tests/multihost runs them on other hosts).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "bench_process.hpp"
#include "harness/suite.hpp"
#include "json_schema.hpp"

namespace fs = std::filesystem;
using harness::json;
using namespace std::chrono_literals;

namespace {

harness::variant_table variants() {
    harness::variant_table t;
    t.bin_dir = "/nonexistent/bin";
    harness::variant_info v;
    v.name = "select";
    v.built = true;
    v.binary = t.bin_dir / "rot13-select";
    t.variants.push_back(v);
    return t;
}

json suite_with(json load) {
    return {{"name", "g"},
            {"servers", json::array({{{"variant", "select"}}})},
            {"loads", json::array({std::move(load)})}};
}

json closed_load(json generators) {
    return {{"mode", "closed"}, {"connections", 4}, {"generators", std::move(generators)}};
}

harness::suite parse(const json& j) {
    return harness::parse_suite(j, variants());
}

// The message of the suite_error parse throws, or "" when it does not.
std::string error_of(const json& j) {
    try {
        parse(j);
    } catch (const harness::suite_error& e) {
        return e.what();
    }
    return "";
}

const json ssh_host = {{"command", {"ssh", "-o", "BatchMode=yes", "bench@h2"}},
                       {"program", "/opt/rot13-load"}};

}  // namespace

TEST(SuiteGenerators, ANumberRunsThatManyOnTheLoadHost) {
    json j = suite_with(closed_load(3));
    j["hosts"] = {{"load", ssh_host}};
    harness::suite s = parse(j);
    ASSERT_EQ(s.loads.size(), 1u);
    ASSERT_EQ(s.loads[0].generators.size(), 3u);
    for (const auto& g : s.loads[0].generators) {
        ASSERT_TRUE(g.host.has_value());
        EXPECT_EQ(g.host->command.back(), "bench@h2");
        EXPECT_EQ(g.host->program, "/opt/rot13-load");
        EXPECT_TRUE(g.label.empty()) << "the runner labels them by host and index";
    }
}

TEST(SuiteGenerators, ANumberWithoutALoadHostRunsThemHere) {
    harness::suite s = parse(suite_with(closed_load(2)));
    ASSERT_EQ(s.loads[0].generators.size(), 2u);
    EXPECT_FALSE(s.loads[0].generators[0].host.has_value());
    EXPECT_FALSE(s.loads[0].generators[1].host.has_value());
}

TEST(SuiteGenerators, AListGivesEachGeneratorItsOwnHostLabelAndCpus) {
    json list = json::array({{{"label", "near"}, {"cpus", "1"}}, ssh_host});
    harness::suite s = parse(suite_with(closed_load(list)));
    const auto& g = s.loads[0].generators;
    ASSERT_EQ(g.size(), 2u);
    EXPECT_EQ(g[0].label, "near");
    EXPECT_FALSE(g[0].host.has_value());
    EXPECT_EQ(g[0].local_cpus, "1");
    ASSERT_TRUE(g[1].host.has_value());
    EXPECT_EQ(g[1].host->command.front(), "ssh");
}

TEST(SuiteGenerators, TheRunIdSaysHowManyGeneratorsARunHas) {
    json j = suite_with(closed_load(2));
    j["loads"].push_back({{"mode", "closed"}, {"connections", 4}});
    auto runs = harness::expand(parse(j));
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[0].id, "select/closed-c4-d1-idle0-s16-g2/rep1");
    EXPECT_EQ(runs[1].id, "select/closed-c4-d1-idle0-s16/rep1");
    EXPECT_NE(harness::describe_load(runs[0].load).find("x2 generators"), std::string::npos);
}

TEST(SuiteGenerators, LoadsWhoseGeneratorsRunInDifferentPlacesGetDifferentRunIds) {
    json here = json::array({json::object(), json::object()});
    json far = ssh_host;
    far["label"] = "far";
    json there = json::array({json::object(), far});
    json j = suite_with(closed_load(here));
    j["loads"].push_back(closed_load(there));
    auto runs = harness::expand(parse(j));
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[0].id, "select/closed-c4-d1-idle0-s16-g2/rep1");
    EXPECT_NE(runs[1].id, runs[0].id);
    EXPECT_EQ(runs[1].id.rfind("select/closed-c4-d1-idle0-s16-g2-", 0), 0u) << runs[1].id;
    // The digest is of the placement: the same list gives the same id in another suite.
    EXPECT_EQ(harness::expand(parse(suite_with(closed_load(there))))[0].id, runs[1].id);
}

TEST(SuiteGenerators, TheOptionGivesGeneratorsToLoadsThatNameNoneButNotToKneeSearches) {
    json j = suite_with(closed_load(json::array({json::object()})));
    j["hosts"] = {{"load", ssh_host}};
    j["loads"].push_back({{"mode", "open"}, {"connections", 4}, {"rate", 1000}});
    j["loads"].push_back({{"mode", "knee"}, {"connections", 4}, {"p99_ms", 5}});
    harness::suite s = parse(j);
    harness::default_generators(s, 3);
    EXPECT_EQ(s.loads[0].generators.size(), 1u) << "a load's own generators stay";
    ASSERT_EQ(s.loads[1].generators.size(), 3u);
    EXPECT_EQ(s.loads[1].generators[0].host->command.back(), "bench@h2");
    EXPECT_TRUE(s.loads[2].generators.empty());
}

TEST(SuiteGenerators, ZeroOrTooManyGeneratorsAreRefusedWithTheRange) {
    EXPECT_EQ(error_of(suite_with(closed_load(0))),
              "loads[0].generators: expected 1 to 64 generators, got 0");
    EXPECT_EQ(error_of(suite_with(closed_load(65))),
              "loads[0].generators: expected 1 to 64 generators, got 65");
}

TEST(SuiteGenerators, AValueThatIsNeitherANumberNorAListIsRefused) {
    EXPECT_EQ(
        error_of(suite_with(closed_load("two"))),
        "loads[0].generators: expected a number of generators or a list of hosts ([{\"command\": [...]}, "
        "{}]), got \"two\"");
    EXPECT_EQ(
        error_of(suite_with(closed_load(2.5))),
        "loads[0].generators: expected a number of generators or a list of hosts ([{\"command\": [...]}, "
        "{}]), got 2.5");
}

TEST(SuiteGenerators, AnEmptyListIsRefused) {
    EXPECT_EQ(error_of(suite_with(closed_load(json::array()))), "loads[0].generators: the list is empty");
}

TEST(SuiteGenerators, AnUnknownKeyOfAGeneratorIsNamedWithItsIndex) {
    json list = json::array({json::object(), {{"comand", {"ssh", "h2"}}}});
    EXPECT_EQ(
        error_of(suite_with(closed_load(list))),
        "loads[0].generators[1]: unknown key \"comand\" (expected one of: label, command, program, cpus)");
}

TEST(SuiteGenerators, AGeneratorThatIsNotAnObjectIsRefused) {
    std::string e = error_of(suite_with(closed_load(json::array({"h2"}))));
    EXPECT_EQ(e.rfind("loads[0].generators[0]: expected a host (", 0), 0u) << e;
}

TEST(SuiteGenerators, TwoGeneratorsWithOneLabelAreRefused) {
    json list = json::array({{{"label", "a"}}, {{"label", "a"}}});
    EXPECT_EQ(error_of(suite_with(closed_load(list))),
              "loads[0].generators[1].label: \"a\" names another generator of this load too");
}

TEST(SuiteGenerators, AProgramWithoutACommandIsRefused) {
    json list = json::array({{{"program", "/opt/rot13-load"}}});
    EXPECT_EQ(error_of(suite_with(closed_load(list))),
              "loads[0].generators[0].program: applies to a generator on another host (give \"command\")");
}

TEST(SuiteGenerators, AnEmptyCommandIsRefused) {
    json list = json::array({{{"command", json::array()}}});
    EXPECT_EQ(error_of(suite_with(closed_load(list))), "loads[0].generators[0].command: must not be empty");
}

TEST(SuiteGenerators, BadCpusOfAGeneratorHereAreRefused) {
    std::string e = error_of(suite_with(closed_load(json::array({{{"cpus", "one"}}}))));
    EXPECT_EQ(e.rfind("loads[0].generators[0].cpus: ", 0), 0u) << e;
}

TEST(SuiteGenerators, AKneeSearchCannotHaveGenerators) {
    json load = {{"mode", "knee"}, {"connections", 4}, {"p99_ms", 5}, {"generators", 2}};
    std::string e = error_of(suite_with(load));
    EXPECT_EQ(e.rfind("loads[0].generators: a knee search runs one generator", 0), 0u) << e;
}

fs::path temporary_directory() {
    std::string pattern = (fs::temp_directory_path() / "rot13-generators-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return pattern;
}

TEST(SuiteGenerators, TheCommandLineOptionNamesItsRangeAndShowsInTheRunIds) {
    const fs::path dir = temporary_directory();
    const fs::path file = dir / "suite.json";
    std::ofstream(file) << suite_with({{"mode", "closed"}, {"connections", 4}}).dump();
    auto bad =
        rot13::test::run_bench(ROT13_BENCH_BINARY, {"run", file.string(), "--generators", "0"}, dir, 30s);
    EXPECT_EQ(bad.status, 2);
    EXPECT_NE(bad.err.find("--generators expects a number of generators from 1 to 64, got '0'"),
              std::string::npos)
        << bad.err;
    auto dry = rot13::test::run_bench(ROT13_BENCH_BINARY,
                                      {"run", file.string(), "--generators", "2", "--dry-run"}, dir, 30s);
    EXPECT_EQ(dry.status, 0) << dry.err;
    EXPECT_NE(dry.out.find("select/closed-c4-d1-idle0-s16-g2/rep1"), std::string::npos) << dry.out;
    fs::remove_all(dir);
}

TEST(SuiteGenerators, ARunMergesItsGeneratorsAndALostOneFailsItNamingItWithTheOthersKept) {
    if (!ROT13_LOAD_AVAILABLE) GTEST_SKIP() << "rot13-load is not built here";
    const fs::path dir = temporary_directory();
    json suite = suite_with(closed_load(json::array(
        {{{"label", "a"}}, {{"label", "b"}}, {{"label", "lost"}, {"command", {"/nonexistent/prefix"}}}})));
    suite["loads"].push_back(closed_load(2));
    suite["loads"][1]["connections"] = 3;
    suite["duration_s"] = 0.5;
    suite["warmup_s"] = 0.1;
    std::ofstream(dir / "suite.json") << suite.dump();
    auto r = rot13::test::run_bench(ROT13_BENCH_BINARY,
                                    {"run", (dir / "suite.json").string(), "--out", (dir / "out").string()},
                                    dir, 120s);
    ASSERT_EQ(r.status, 0) << r.err;
    std::ifstream in(dir / "out" / "results.json");
    const nlohmann::json doc = nlohmann::json::parse(in);
    std::ifstream schema_in(ROT13_SCHEMA_FILE);
    auto errors = rot13::test::validate_schema(nlohmann::json::parse(schema_in), doc);
    EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front());
    ASSERT_EQ(doc["runs"].size(), 2u);
    for (const auto& run : doc["runs"]) {
        const bool with_lost = run["generators"].size() == 3;
        const auto& parts = run["generators"];
        std::int64_t sum = 0;
        for (const auto& g : parts)
            if (g["summary"].is_object()) sum += g["summary"]["requests"].get<std::int64_t>();
        ASSERT_TRUE(run["summary"].is_object()) << run["reason"];
        EXPECT_EQ(run["summary"]["requests"].get<std::int64_t>(), sum)
            << "merged requests are the sum of the parts";
        EXPECT_TRUE(run["merge"]["start_spread_ms"].is_number());
        EXPECT_TRUE(run["commands"]["load"].is_null());
        if (!with_lost) {
            EXPECT_EQ(run["status"], "ok") << run["reason"];
            EXPECT_EQ(run["config"]["generators"], 2);
            EXPECT_EQ(run["config"]["connections"], 6) << "the server saw both generators' connections";
            EXPECT_GT(run["server"]["cpu_us_per_line"].get<double>(), 0);
            continue;
        }
        EXPECT_EQ(run["status"], "failed");
        const std::string reason = run["reason"];
        EXPECT_EQ(
            reason.rfind("generator lost: its host is unreachable: `/nonexistent/prefix true` ended with", 0),
            0u)
            << reason;
        EXPECT_EQ(parts[0]["status"], "ok");
        EXPECT_EQ(parts[1]["status"], "ok");
        EXPECT_EQ(parts[2]["status"], "failed");
        EXPECT_TRUE(parts[2]["summary"].is_null());
        EXPECT_TRUE(parts[2]["exit"].is_null()) << "it was never started";
        EXPECT_NE(parts[1]["command"].dump().find("\"--label\",\"b\""), std::string::npos)
            << parts[1]["command"];
        EXPECT_NE(parts[1]["command"].dump().find("\"--start-at\""), std::string::npos);
    }
    if (!HasFailure()) fs::remove_all(dir);
}
