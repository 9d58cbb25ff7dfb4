// Integration tests of rot13-bench: tiny suites (runs of 0.3 s) against real servers.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "bench_process.hpp"
#include "json_schema.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using rot13::test::bench_process;
using rot13::test::run_bench;

namespace {

const std::string bench = ROT13_BENCH_BINARY;
const std::string select_server = ROT13_SELECT_BINARY;
const std::string fault_server = ROT13_FAULT_BINARY;
constexpr bool load_available = ROT13_LOAD_AVAILABLE != 0;

json read_json(const fs::path& file) {
    std::ifstream in(file);
    return json::parse(in);
}

const json& results_schema() {
    static const json schema = read_json(ROT13_SCHEMA_FILE);
    return schema;
}

std::string errors_text(const std::vector<std::string>& errors) {
    std::string text;
    for (std::size_t i = 0; i < errors.size() && i < 10; ++i) text += errors[i] + "\n";
    return text;
}

// The variants configure recorded (build/servers.txt next to build/bin/rot13-bench).
std::vector<std::vector<std::string>> configured_variants() {
    std::ifstream in(fs::path(bench).parent_path().parent_path() / "servers.txt");
    std::vector<std::vector<std::string>> rows;
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> fields;
        std::stringstream fields_in(line);
        for (std::string f; std::getline(fields_in, f, '\t');) fields.push_back(f);
        fields.resize(5);  // name, built|skipped, backends, cap or reason, note
        rows.push_back(fields);
    }
    return rows;
}

class HarnessTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "rot13-harness-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override {
        if (!HasFailure())
            fs::remove_all(dir_);
        else
            std::fprintf(stderr, "test files kept in %s\n", dir_.c_str());
    }

    // A suite of runs short enough for a test: 0.3 s measured after 0.1 s of warm-up.
    static json tiny_suite(json servers,
                           json loads = json::array({{{"mode", "closed"}, {"connections", 1}}})) {
        return {{"name", "tiny"},           {"duration_s", 0.3}, {"warmup_s", 0.1},
                {"repetitions", 1},         {"seed", 7},         {"servers", std::move(servers)},
                {"loads", std::move(loads)}};
    }

    fs::path write_suite(const json& suite, const std::string& name = "suite.json") {
        fs::path file = dir_ / name;
        std::ofstream(file) << suite.dump(2);
        return file;
    }

    fs::path out_dir() const { return dir_ / "out"; }

    rot13::test::bench_result run_suite(const fs::path& suite, std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"run", suite.string(), "--out", out_dir().string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_bench(bench, args, dir_, 120s);
    }

    json results() const { return read_json(out_dir() / "results.json"); }

    static const json* find_run(const json& doc, const std::string& server) {
        for (const auto& run : doc["runs"])
            if (run["config"]["server"] == server) return &run;
        return nullptr;
    }

    fs::path dir_;
};

#define REQUIRE_LOADGEN() \
    if (!load_available) GTEST_SKIP() << "rot13-load is not built here"

// ---- usage errors --------------------------------------------------------------------

TEST_F(HarnessTest, UnknownFlagPrintsTheProblemAndAPointerToHelpAndExitsTwo) {
    auto r = run_bench(bench, {"list", "--frobnicate"}, dir_);
    EXPECT_EQ(r.status, 2);
    // Two lines, as git and curl do: the whole usage would push the problem off the screen.
    EXPECT_EQ(r.err, "rot13-bench: unknown option '--frobnicate'\nsee 'rot13-bench --help'\n");
    EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(HarnessTest, HelpPrintsTheWholeUsageAndExitsZero) {
    auto r = run_bench(bench, {"--help"}, dir_);
    EXPECT_EQ(r.status, 0);
    for (const char* part : {"usage:", "list", "run", "--out", "--resume", "--dry-run", "--seed"})
        EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
}

// ---- suite errors --------------------------------------------------------------------

TEST_F(HarnessTest, UnknownTopLevelKeyIsNamed) {
    json suite = tiny_suite(json::array({{{"variant", "select"}}}));
    suite["duratoin_s"] = 1;
    auto r = run_suite(write_suite(suite));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("unknown key \"duratoin_s\""), std::string::npos) << r.err;
}

TEST_F(HarnessTest, UnknownServerKeyIsNamedWithItsPlace) {
    auto r = run_suite(write_suite(
        tiny_suite(json::array({{{"variant", "select"}}, {{"variant", "select"}, {"backend", "poll"}}}))));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("servers[1]: unknown key \"backend\""), std::string::npos) << r.err;
}

TEST_F(HarnessTest, UnknownLoadKeyIsNamedWithItsPlace) {
    auto r = run_suite(write_suite(tiny_suite(json::array({{{"variant", "select"}}}),
                                              json::array({{{"mode", "closed"}, {"conections", 1}}}))));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("loads[0]: unknown key \"conections\""), std::string::npos) << r.err;
}

TEST_F(HarnessTest, BadValueInAListIsNamedWithItsIndex) {
    auto r =
        run_suite(write_suite(tiny_suite(json::array({{{"variant", "select"}}}),
                                         json::array({{{"mode", "closed"}, {"connections", {1, "ten"}}}}))));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("loads[0].connections[1]: expected an integer"), std::string::npos) << r.err;
}

TEST_F(HarnessTest, UnknownVariantIsNamedWithTheKnownOnes) {
    auto r = run_suite(write_suite(tiny_suite(json::array({{{"variant", "selcet"}}}))));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("servers[0].variant: unknown variant \"selcet\" (known: all, "), std::string::npos)
        << r.err;
}

TEST_F(HarnessTest, OpenLoopWithoutRateIsAnError) {
    auto r = run_suite(write_suite(tiny_suite(json::array({{{"variant", "select"}}}),
                                              json::array({{{"mode", "open"}, {"connections", 1}}}))));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("loads[0]: \"mode\": \"open\" needs \"rate\""), std::string::npos) << r.err;
}

TEST_F(HarnessTest, SpinInAClosedLoopIsAnError) {
    auto r = run_suite(write_suite(tiny_suite(json::array({{{"variant", "select"}}}),
                                              json::array({{{"mode", "closed"}, {"connections", 1}, {"spin_us", 50}}}))));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("loads[0].spin_us: applies to \"mode\": \"open\" only"), std::string::npos) << r.err;
}

TEST_F(HarnessTest, SpinReachesRot13LoadAndTheResults) {
    REQUIRE_LOADGEN();
    json loads = json::array({{{"mode", "open"}, {"connections", 2}, {"rate", 500}, {"spin_us", 50}}});
    auto r = run_suite(write_suite(tiny_suite(json::array({{{"variant", "select"}}}), loads)));
    ASSERT_EQ(r.status, 0) << r.err;
    json doc = results();
    EXPECT_TRUE(rot13::test::validate_schema(results_schema(), doc).empty());
    ASSERT_EQ(doc["runs"].size(), 1u);
    const json& run = doc["runs"][0];
    EXPECT_EQ(run["status"], "ok") << run["reason"];
    EXPECT_EQ(run["config"]["spin_us"], 50);
    EXPECT_NE(run["id"].get<std::string>().find("-spin50"), std::string::npos) << run["id"];
    const auto load = run["commands"]["load"].get<std::vector<std::string>>();
    auto at = std::find(load.begin(), load.end(), "--spin-us");
    ASSERT_NE(at, load.end()) << run["commands"]["load"];
    EXPECT_EQ(*std::next(at), "50");
    EXPECT_TRUE(run["loadgen"].is_object());
}

TEST_F(HarnessTest, JsonSyntaxErrorGivesLineAndColumn) {
    fs::path file = dir_ / "broken.json";
    std::ofstream(file) << "{\n  \"name\": \"x\",\n  \"servers\": [,]\n}\n";
    auto r = run_suite(file);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find(file.string() + ":3:"), std::string::npos) << r.err;
}

// ---- list, expansion, order, preflight -----------------------------------------------

TEST_F(HarnessTest, ListShowsEveryVariantWithItsBackendsOrWhyItIsNotBuilt) {
    auto r = run_bench(bench, {"list"}, dir_);
    EXPECT_EQ(r.status, 0) << r.err;
    auto variants = configured_variants();
    ASSERT_FALSE(variants.empty());
    for (const auto& v : variants) {
        EXPECT_NE(r.out.find(v[0] + " "), std::string::npos) << v[0] << "\n" << r.out;
        if (v[1] == "skipped") {
            EXPECT_NE(r.out.find(v[3]), std::string::npos) << v[0];
        }
        if (!v[2].empty()) {
            EXPECT_NE(r.out.find(v[2]), std::string::npos) << v[0];
        }
        if (v[1] == "built" && !v[4].empty()) {
            EXPECT_NE(r.out.find(v[0] + " (" + v[4] + ")"), std::string::npos) << v[0] << "\n" << r.out;
        }
    }
}

TEST_F(HarnessTest, AVariantsNoteFollowsItsNameIntoTheListTheTableAndTheResults) {
    // A build that provides a variant other than natively says so in servers.txt (on Linux,
    // kqueue over libkqueue: "libkqueue on Linux"). A bin directory of this test's own,
    // with select linked in, makes that testable on any build.
    REQUIRE_LOADGEN();
    const fs::path bin = dir_ / "build" / "bin";
    fs::create_directories(bin);
    fs::create_symlink(select_server, bin / "rot13-select");
    fs::create_symlink(fs::path(bench).parent_path() / "rot13-load", bin / "rot13-load");
    std::ofstream(dir_ / "build" / "servers.txt") << "select\tbuilt\t\tFD_SETSIZE\temulated for a test\n";

    auto listed = run_bench(bench, {"list", "--bin-dir", bin.string()}, dir_);
    EXPECT_EQ(listed.status, 0) << listed.err;
    EXPECT_NE(listed.out.find("select (emulated for a test)"), std::string::npos) << listed.out;

    auto r = run_suite(write_suite(tiny_suite(json::array({{{"variant", "select"}}}))), {"--bin-dir", bin.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("select (emulated for a test)"), std::string::npos) << "the summary table:\n" << r.out;
    json doc = results();
    EXPECT_TRUE(rot13::test::validate_schema(results_schema(), doc).empty());
    ASSERT_EQ(doc["runs"].size(), 1u);
    EXPECT_EQ(doc["runs"][0]["config"]["note"], "emulated for a test");
    EXPECT_EQ(doc["runs"][0]["status"], "ok") << doc["runs"][0]["reason"];
    ASSERT_EQ(doc["context"]["variants"].size(), 1u);
    EXPECT_EQ(doc["context"]["variants"][0]["note"], "emulated for a test");
}

std::vector<std::string> dry_run_ids(const std::string& out) {
    std::vector<std::string> ids;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        auto tab = line.find('\t');
        if (tab != std::string::npos) ids.push_back(line.substr(tab + 1, line.find('\t', tab + 1) - tab - 1));
    }
    return ids;
}

TEST_F(HarnessTest, DryRunExpandsListsAndInterleavesRepetitionsBySeed) {
    json suite = tiny_suite(
        json::array({{{"variant", "select"}}, {{"name", "mine"}, {"command", {"my-server", "{port}"}}}}),
        json::array({{{"mode", "closed"}, {"connections", {1, 2, 3}}}}));
    suite["repetitions"] = 2;
    fs::path file = write_suite(suite);
    auto first = run_bench(bench, {"run", file.string(), "--dry-run", "--seed", "1"}, dir_);
    auto again = run_bench(bench, {"run", file.string(), "--dry-run", "--seed", "1"}, dir_);
    auto other = run_bench(bench, {"run", file.string(), "--dry-run", "--seed", "2"}, dir_);
    ASSERT_EQ(first.status, 0) << first.err;
    auto ids = dry_run_ids(first.out);
    ASSERT_EQ(ids.size(), 12u) << first.out;
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 12u);
    // Repetition 1 of every cell comes before any repetition 2.
    for (std::size_t i = 0; i < ids.size(); ++i)
        EXPECT_TRUE(ids[i].ends_with(i < 6 ? "/rep1" : "/rep2")) << ids[i];
    EXPECT_EQ(dry_run_ids(again.out), ids) << "the same seed must give the same order";
    EXPECT_NE(dry_run_ids(other.out), ids) << "another seed should give another order";
    EXPECT_NE(first.err.find("seed 1"), std::string::npos) << first.err;
}

TEST_F(HarnessTest, PreflightSuggestsSourceWhenASuiteNeedsMorePortsThanOneAddressHas) {
    auto r = run_bench(bench,
                       {"run",
                        write_suite(tiny_suite(json::array({{{"variant", "select"}}}),
                                               json::array({{{"mode", "closed"}, {"connections", 100000}}})))
                            .string(),
                        "--dry-run"},
                       dir_);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("warning: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--source"), std::string::npos) << r.err;
}

TEST_F(HarnessTest, ShippedSuitesAreValid) {
    int count = 0;
    for (const auto& entry : fs::directory_iterator(ROT13_SUITES_DIR)) {
        if (entry.path().extension() != ".json") continue;
        ++count;
        auto r = run_bench(bench, {"run", entry.path().string(), "--dry-run"}, dir_);
        EXPECT_EQ(r.status, 0) << entry.path() << "\n" << r.err;
    }
    EXPECT_GE(count, 4);
}

// ---- running suites ------------------------------------------------------------------

TEST_F(HarnessTest, ResultsFileIsCompleteAndMatchesTheSchema) {
    REQUIRE_LOADGEN();
    json servers = json::array(
        {{{"variant", "select"}},
         // A custom command that prints no readiness line: the port accepting counts.
         {{"name", "quiet-select"},
          {"command", {"sh", "-c", "exec \"$0\" --port \"$1\" >/dev/null", select_server, "{port}"}}}});
    std::string not_built;
    for (const auto& v : configured_variants())
        if (v[1] == "skipped" && not_built.empty()) not_built = v[0];
    if (!not_built.empty()) servers.push_back({{"variant", not_built}});
    json loads = json::array({{{"mode", "closed"}, {"connections", {1, 2}}},
                              {{"mode", "open"}, {"connections", 2}, {"rate", 500}}});
    auto r = run_suite(write_suite(tiny_suite(servers, loads)));
    ASSERT_EQ(r.status, 0) << r.err;

    json doc = results();
    auto errors = rot13::test::validate_schema(results_schema(), doc);
    EXPECT_TRUE(errors.empty()) << errors_text(errors);
    const std::size_t expected_runs = servers.size() * 3;
    ASSERT_EQ(doc["runs"].size(), expected_runs);
    EXPECT_EQ(doc["suite"]["order"].size(), expected_runs);
    EXPECT_EQ(doc["suite"]["seed"], 7);
    std::set<std::string> ids;
    for (const auto& run : doc["runs"]) {
        ids.insert(run["id"].get<std::string>());
        const std::string server = run["config"]["server"];
        if (server == not_built) {
            EXPECT_EQ(run["status"], "skipped");
            EXPECT_NE(run["reason"].get<std::string>().find("not built here"), std::string::npos);
            continue;
        }
        EXPECT_EQ(run["status"], "ok") << run["id"] << ": " << run["reason"];
        if (run["status"] != "ok") continue;
        EXPECT_GT(run["summary"]["requests"].get<long>(), 0);
        EXPECT_EQ(run["summary"]["validation_failures"], 0);
        EXPECT_EQ(run["server"]["exit"], "ok");
        EXPECT_GT(run["server"]["peak_rss_kb"].get<long>(), 0);
        EXPECT_GT(run["server"]["cpu_user_s"].get<double>() + run["server"]["cpu_sys_s"].get<double>(), 0.0);
        EXPECT_TRUE(run["commands"]["load"].is_array());
    }
    EXPECT_EQ(ids.size(), expected_runs);
    EXPECT_FALSE(doc["context"]["host"].get<std::string>().empty());
    EXPECT_TRUE(doc["context"]["pinning"].contains("server_cpus"));
}

TEST_F(HarnessTest, ServerThatFailsToStartIsRecordedAndTheSuiteGoesOn) {
    REQUIRE_LOADGEN();
    json servers = json::array(
        {{{"name", "exits"}, {"command", {"sh", "-c", "echo cannot start >&2; exit 3", "{port}"}}},
         {{"name", "segfaults"}, {"command", {"sh", "-c", "kill -SEGV $$", "{port}"}}},
         {{"variant", "select"}}});
    auto r = run_suite(write_suite(tiny_suite(servers)));
    ASSERT_EQ(r.status, 0) << r.err;
    json doc = results();
    ASSERT_EQ(doc["runs"].size(), 3u);
    const json* exits = find_run(doc, "exits");
    const json* segfaults = find_run(doc, "segfaults");
    const json* select = find_run(doc, "select");
    ASSERT_TRUE(exits && segfaults && select);
    EXPECT_EQ((*exits)["status"], "failed");
    EXPECT_EQ((*exits)["server"]["exit"], "exit 3");
    EXPECT_NE((*exits)["reason"].get<std::string>().find("cannot start"), std::string::npos)
        << (*exits)["reason"];
    EXPECT_EQ((*segfaults)["status"], "failed");
    EXPECT_EQ((*segfaults)["server"]["exit"], "signal SIGSEGV");
    EXPECT_EQ((*select)["status"], "ok") << (*select)["reason"];
    EXPECT_TRUE(rot13::test::validate_schema(results_schema(), doc).empty());
}

TEST_F(HarnessTest, ServerCrashDuringTheRunIsRecordedAsData) {
    REQUIRE_LOADGEN();
    if (fault_server.empty()) GTEST_SKIP() << "rot13-fault is not built here";
    json servers = json::array(
        {{{"name", "crashes"}, {"command", {fault_server, "--port", "{port}", "--crash-after", "300"}}},
         {{"variant", "select"}}});
    auto r = run_suite(write_suite(tiny_suite(servers)));
    ASSERT_EQ(r.status, 0) << r.err;
    json doc = results();
    const json* crashed = find_run(doc, "crashes");
    const json* select = find_run(doc, "select");
    ASSERT_TRUE(crashed && select);
    EXPECT_EQ((*crashed)["status"], "failed");
    EXPECT_EQ((*crashed)["server"]["exit"], "signal SIGKILL");
    EXPECT_NE((*crashed)["reason"].get<std::string>().find("server died during the run"), std::string::npos)
        << (*crashed)["reason"];
    EXPECT_TRUE((*crashed)["summary"].is_object()) << "what rot13-load measured before the crash is kept";
    EXPECT_EQ((*select)["status"], "ok") << (*select)["reason"];
    EXPECT_TRUE(rot13::test::validate_schema(results_schema(), doc).empty());
}

TEST_F(HarnessTest, WrongReplyFailsTheRunAsProtocol) {
    REQUIRE_LOADGEN();
    if (fault_server.empty()) GTEST_SKIP() << "rot13-fault is not built here";
    json servers = json::array(
        {{{"name", "corrupts"}, {"command", {fault_server, "--port", "{port}", "--corrupt-every", "1"}}}});
    auto r = run_suite(write_suite(tiny_suite(servers)));
    ASSERT_EQ(r.status, 0) << r.err;
    const json doc = results();
    const json& run = doc["runs"][0];
    EXPECT_EQ(run["status"], "failed");
    EXPECT_EQ(run["reason"].get<std::string>().rfind("protocol:", 0), 0u) << run["reason"];
    EXPECT_TRUE(run["commands"]["load"].is_null()) << "no load after a failed probe";
}

TEST_F(HarnessTest, ReadinessTimeoutFailsTheRun) {
    REQUIRE_LOADGEN();
    json servers = json::array({{{"name", "sleeps"}, {"command", {"sh", "-c", "sleep 30", "{port}"}}}});
    const auto start = std::chrono::steady_clock::now();
    auto r = run_suite(write_suite(tiny_suite(servers)), {"--ready-timeout", "0.5"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
    const json doc = results();
    const json& run = doc["runs"][0];
    EXPECT_EQ(run["status"], "failed");
    EXPECT_NE(run["reason"].get<std::string>().find("readiness timeout"), std::string::npos) << run["reason"];
}

TEST_F(HarnessTest, ServerThatIgnoresSigtermIsKilledAndRecordedAsTimeout) {
    REQUIRE_LOADGEN();
    // The shell ignores SIGTERM and outlives the server it started: the stop must end in SIGKILL.
    json servers = json::array(
        {{{"name", "lingers"},
          {"command",
           {"sh", "-c", "trap '' TERM; \"$0\" --port \"$1\"; sleep 30", select_server, "{port}"}}}});
    auto r = run_suite(write_suite(tiny_suite(servers)));
    ASSERT_EQ(r.status, 0) << r.err;
    const json doc = results();
    const json& run = doc["runs"][0];
    EXPECT_EQ(run["status"], "failed");
    EXPECT_EQ(run["server"]["exit"], "timeout");
    EXPECT_NE(run["reason"].get<std::string>().find("did not exit"), std::string::npos) << run["reason"];
    EXPECT_TRUE(run["summary"].is_object());
}

TEST_F(HarnessTest, SigintKeepsFinishedRunsAndLeavesNoProcesses) {
    REQUIRE_LOADGEN();
    // The forking server leaves children to clean up. This test process becomes their
    // reaper if rot13-bench exits without reaping them, so they would show up below.
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    fs::path suite = write_suite(
        tiny_suite(json::array({{{"variant", "fork"}}}),
                   json::array({{{"mode", "closed"}, {"connections", {4, 5, 6, 7, 8, 9, 10, 11}}}})));
    bench_process p(bench, {"run", suite.string(), "--out", out_dir().string()}, dir_);
    // Wait until the first run is recorded, then interrupt in the middle of the next one.
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    std::size_t recorded = 0;
    while (recorded == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
        try {
            recorded = results()["runs"].size();
        } catch (const std::exception&) {
        }
    }
    ASSERT_GT(recorded, 0u) << p.err();
    std::this_thread::sleep_for(200ms);
    ::kill(p.pid(), SIGINT);
    auto status = p.wait(5s);
    ASSERT_TRUE(status.has_value()) << "rot13-bench did not stop within 5 s of SIGINT";
    EXPECT_EQ(*status, 130) << p.err();
    EXPECT_TRUE(rot13::test::processes_with_marker(p.marker()).empty())
        << "a server or rot13-load was left behind";
    pid_t orphan = ::waitpid(-1, nullptr, WNOHANG);
    EXPECT_TRUE(orphan < 0 && errno == ECHILD) << "a process or zombie was left behind: " << orphan;
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);

    json doc = results();
    EXPECT_TRUE(rot13::test::validate_schema(results_schema(), doc).empty());
    EXPECT_GE(doc["runs"].size(), recorded);
    EXPECT_LT(doc["runs"].size(), 8u);
    for (const auto& run : doc["runs"]) EXPECT_EQ(run["status"], "ok") << run["id"] << ": " << run["reason"];
    EXPECT_NE(p.err().find("--resume"), std::string::npos) << p.err();
}

TEST_F(HarnessTest, ResumeSkipsFinishedRunsAndKeepsThem) {
    REQUIRE_LOADGEN();
    fs::path suite =
        write_suite(tiny_suite(json::array({{{"variant", "select"}}}),
                               json::array({{{"mode", "closed"}, {"connections", {1, 2, 3, 4}}}})));
    ASSERT_EQ(run_suite(suite).status, 0);
    // Make it an interrupted suite: keep the first two runs only.
    json doc = results();
    json kept = json::array({doc["runs"][0], doc["runs"][1]});
    doc["runs"] = kept;
    std::ofstream(out_dir() / "results.json") << doc.dump();

    auto r = run_suite(suite, {"--resume"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("2 of 4 runs already recorded"), std::string::npos) << r.err;
    json resumed = results();
    ASSERT_EQ(resumed["runs"].size(), 4u);
    EXPECT_EQ(resumed["runs"][0], kept[0]);
    EXPECT_EQ(resumed["runs"][1], kept[1]);
    std::set<std::string> ids;
    for (const auto& run : resumed["runs"]) ids.insert(run["id"].get<std::string>());
    EXPECT_EQ(ids.size(), 4u);
    EXPECT_EQ(resumed["context"]["resumed"].size(), 1u);
    EXPECT_TRUE(rot13::test::validate_schema(results_schema(), resumed).empty());
}

TEST_F(HarnessTest, ResumeRefusesAChangedSuite) {
    REQUIRE_LOADGEN();
    json suite = tiny_suite(json::array({{{"variant", "select"}}}));
    ASSERT_EQ(run_suite(write_suite(suite)).status, 0);
    suite["duration_s"] = 0.5;
    auto r = run_suite(write_suite(suite), {"--resume"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("different suite"), std::string::npos) << r.err;
}

TEST_F(HarnessTest, ExistingResultsAreNotOverwrittenWithoutResume) {
    REQUIRE_LOADGEN();
    fs::path suite = write_suite(tiny_suite(json::array({{{"variant", "select"}}})));
    ASSERT_EQ(run_suite(suite).status, 0);
    auto r = run_suite(suite);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("pass --resume"), std::string::npos) << r.err;
}

TEST_F(HarnessTest, SchemaRejectsIncompleteResults) {
    REQUIRE_LOADGEN();
    ASSERT_EQ(run_suite(write_suite(tiny_suite(json::array({{{"variant", "select"}}})))).status, 0);
    json doc = results();
    ASSERT_TRUE(rot13::test::validate_schema(results_schema(), doc).empty());
    json no_server = doc;
    no_server["runs"][0].erase("server");
    EXPECT_FALSE(rot13::test::validate_schema(results_schema(), no_server).empty());
    json bad_status = doc;
    bad_status["runs"][0]["status"] = "fine";
    EXPECT_FALSE(rot13::test::validate_schema(results_schema(), bad_status).empty());
    json ok_without_summary = doc;
    ok_without_summary["runs"][0]["summary"] = nullptr;
    EXPECT_FALSE(rot13::test::validate_schema(results_schema(), ok_without_summary).empty());
    json extra_top_level = doc;
    extra_top_level["extra"] = 1;
    EXPECT_FALSE(rot13::test::validate_schema(results_schema(), extra_top_level).empty());
}

}  // namespace
