// The rot13-load command line as a user meets it: usage errors exit 2 with a message and
// a pointer to --help, not the whole usage.
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>

#include "process.hpp"

namespace {

using loadgen_test::run_load;

struct bad_command {
    const char* name;  // names the case in test output and ctest
    std::vector<std::string> args;
    std::string message;  // a part of the error message
};
void PrintTo(const bad_command& b, std::ostream* out) {
    *out << b.name;
}

class CliErrors : public ::testing::TestWithParam<bad_command> {};

TEST_P(CliErrors, ExitTwoWithTheMessageAndAPointerToHelp) {
    auto r = run_load(GetParam().args, std::chrono::seconds(10));
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(r.err.starts_with("rot13-load: ")) << r.err;
    EXPECT_NE(r.err.find(GetParam().message), std::string::npos) << r.err;
    // Two lines: the problem, then where the usage is (as git and curl do).
    EXPECT_TRUE(r.err.ends_with("\nsee 'rot13-load --help'\n")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 2) << r.err;
    EXPECT_EQ(r.err.find("usage:"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    Mistakes, CliErrors,
    ::testing::Values(
        bad_command{"no_port", {}, "--port is required"},
        bad_command{"unknown_flag", {"--port", "1", "--frobnicate"}, "unknown option '--frobnicate'"},
        bad_command{"rate_not_a_number", {"--port", "1", "--rate", "fast"}, "--rate expects a number"},
        bad_command{"negative_connections",
                    {"--port", "1", "--connections", "-3"},
                    "--connections expects an integer"},
        bad_command{"missing_value", {"--port", "1", "--duration"}, "--duration needs a value"},
        bad_command{"arrivals_without_rate",
                    {"--port", "1", "--arrivals", "poisson"},
                    "--arrivals applies to the open loop"},
        bad_command{"merge_without_files", {"merge"}, "merge needs at least one results file"},
        bad_command{"merge_unknown_option", {"merge", "--frobnicate", "a.json"}, "merge: unknown option"},
        bad_command{"start_at_in_the_past", {"--port", "1", "--start-at", "1000000000"}, "s in the past"}),
    [](const ::testing::TestParamInfo<bad_command>& param_info) {
        return std::string(param_info.param.name);
    });

TEST(Cli, HelpPrintsTheUsageAndExitsZero) {
    auto r = run_load({"--help"}, std::chrono::seconds(10));
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("usage: rot13-load --port N"), std::string::npos);
    EXPECT_NE(r.out.find("--max-p99-ms"), std::string::npos);
}

TEST(Cli, MergeOfAMissingFileFails) {
    auto r = run_load({"merge", "/nonexistent/results.json"}, std::chrono::seconds(10));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("cannot open"), std::string::npos) << r.err;
}

}  // namespace
