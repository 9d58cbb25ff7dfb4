// rot13-load's flags: defaults, values, and the mistakes that are usage errors.
#include "loadgen/options.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/errors.hpp"

namespace {

loadgen::options parse(std::vector<std::string_view> args) {
    return loadgen::parse_options(args);
}

TEST(Options, DefaultsToAClosedLoopOfTenConnections) {
    auto o = parse({"--port", "5000"});
    EXPECT_EQ(o.host, "127.0.0.1");
    EXPECT_EQ(o.port, 5000);
    EXPECT_EQ(o.connections, 10);
    EXPECT_FALSE(o.open_loop());
    EXPECT_EQ(o.effective_depth(), 1);
    EXPECT_EQ(o.size, 16u);
}

TEST(Options, ParsesEveryFlag) {
    auto o = parse({"--host=::1",
                    "--port",
                    "1",
                    "-c",
                    "100",
                    "--depth",
                    "16",
                    "--rate",
                    "2000.5",
                    "--arrivals",
                    "poisson",
                    "--idle",
                    "9900",
                    "--size",
                    "40000",
                    "--seed",
                    "9",
                    "--duration",
                    "2.5",
                    "--warmup",
                    "0",
                    "--timeout",
                    "0.5",
                    "--connect-rate",
                    "1000",
                    "--source",
                    "127.0.0.1-127.0.0.4",
                    "--threads",
                    "3",
                    "--max-p99-ms",
                    "12.5",
                    "--max-error-rate",
                    "0.01",
                    "--json",
                    "out.json",
                    "--hdr-log",
                    "out.hlog",
                    "--quiet"});
    EXPECT_EQ(o.host, "::1");
    EXPECT_EQ(o.connections, 100);
    EXPECT_EQ(o.effective_depth(), 16);
    EXPECT_TRUE(o.open_loop());
    EXPECT_DOUBLE_EQ(o.rate, 2000.5);
    EXPECT_EQ(o.arrivals, loadgen::arrival_process::poisson);
    EXPECT_EQ(o.idle, 9900);
    EXPECT_EQ(o.size, 40000u);
    EXPECT_EQ(o.seed, 9u);
    EXPECT_DOUBLE_EQ(o.duration_s, 2.5);
    EXPECT_DOUBLE_EQ(o.warmup_s, 0);
    EXPECT_DOUBLE_EQ(o.timeout_s, 0.5);
    EXPECT_DOUBLE_EQ(o.connect_rate, 1000);
    ASSERT_EQ(o.source_addresses.size(), 4u);
    EXPECT_EQ(o.source_addresses[0].to_string(), "127.0.0.1");
    EXPECT_EQ(o.source_addresses[3].to_string(), "127.0.0.4");
    EXPECT_EQ(o.threads, 3);
    EXPECT_DOUBLE_EQ(o.max_p99_ms, 12.5);
    EXPECT_DOUBLE_EQ(o.max_error_rate, 0.01);
    EXPECT_EQ(o.json_path, "out.json");
    EXPECT_EQ(o.hdr_log_path, "out.hlog");
    EXPECT_TRUE(o.quiet);
}

TEST(Options, SourceTakesIpv6RangesToo) {
    std::vector<std::string_view> args = {"--port", "1", "--source", "fd00::fe-fd00::101"};
    auto o = loadgen::parse_options(args);
    ASSERT_EQ(o.source_addresses.size(), 4u);  // counted across a byte boundary
    EXPECT_EQ(o.source_addresses[0].to_string(), "fd00::fe");
    EXPECT_EQ(o.source_addresses[1].to_string(), "fd00::ff");
    EXPECT_EQ(o.source_addresses[2].to_string(), "fd00::100");
    EXPECT_EQ(o.source_addresses[3].to_string(), "fd00::101");
    std::vector<std::string_view> one = {"--port", "1", "--source", "::1"};
    EXPECT_EQ(loadgen::parse_options(one).source_addresses.size(), 1u);
}

TEST(Options, OpenLoopDepthDefaultsToACapOfAThousand) {
    EXPECT_EQ(parse({"--port", "1", "--rate", "100"}).effective_depth(), 1000);
}

TEST(Options, SpinIsAnOpenLoopSetting) {
    EXPECT_EQ(parse({"--port", "1", "--rate", "100"}).spin_us, 0);  // default: sleep on the timer
    EXPECT_EQ(parse({"--port", "1", "--rate", "100", "--spin-us", "50"}).spin_us, 50);
    try {
        parse({"--port", "1", "--spin-us", "50"});
        FAIL() << "--spin-us without --rate was accepted";
    } catch (const rot13::usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("open loop only"), std::string::npos) << e.what();
    }
}

TEST(Options, SeveralGeneratorsFlags) {
    std::vector<std::string_view> args = {"--port", "1", "--start-at", "1800000005.25", "--label", "client-3",
                                          "--stop-on-stdin-close"};
    auto o = loadgen::parse_options(args, 1800000000.0);
    EXPECT_DOUBLE_EQ(o.start_at_epoch_s, 1800000005.25);
    EXPECT_EQ(o.label, "client-3");
    EXPECT_TRUE(o.stop_on_stdin_close);
    EXPECT_EQ(parse({"--port", "1"}).start_at_epoch_s, 0);  // default: start at once
}

TEST(Options, StartAtALittleInThePastIsAccepted) {
    std::vector<std::string_view> args = {"--port", "1", "--start-at", "1800000000"};
    EXPECT_NO_THROW(loadgen::parse_options(args, 1800000000.0 + loadgen::start_at_tolerance_s - 0.1));
}

TEST(Options, StartAtInThePastIsRefusedSayingByHowMuch) {
    std::vector<std::string_view> args = {"--port", "1", "--start-at", "1800000000"};
    try {
        loadgen::parse_options(args, 1800000012.5);
        FAIL() << "no error";
    } catch (const rot13::usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("is 12.5 s in the past"), std::string::npos) << e.what();
    }
}

TEST(Options, StartAtInMillisecondsIsRefused) {
    std::vector<std::string_view> args = {"--port", "1", "--start-at", "1800000000000"};
    try {
        loadgen::parse_options(args, 1800000000.0);
        FAIL() << "no error";
    } catch (const rot13::usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("not milliseconds"), std::string::npos) << e.what();
    }
}

TEST(Options, HelpNeedsNoPort) {
    EXPECT_TRUE(parse({"--help"}).help);
}

struct bad_args {
    const char* name;  // names the case in test output and ctest
    std::vector<std::string_view> args;
};
void PrintTo(const bad_args& b, std::ostream* out) {
    *out << b.name;
}

class BadOptions : public ::testing::TestWithParam<bad_args> {};

TEST_P(BadOptions, AreUsageErrors) {
    EXPECT_THROW(parse(GetParam().args), rot13::usage_error);
}

INSTANTIATE_TEST_SUITE_P(
    Mistakes, BadOptions,
    ::testing::Values(bad_args{"no_port", {}},
                      bad_args{"port_zero", {"--port", "0"}},  // port 0 names no server
                      bad_args{"port_too_big", {"--port", "70000"}},
                      bad_args{"unknown_flag", {"--port", "1", "--bogus"}},
                      bad_args{"stray_argument", {"--port", "1", "stray"}},
                      bad_args{"no_connections", {"--port", "1", "--connections", "0"}},
                      bad_args{"rate_not_a_number", {"--port", "1", "--rate", "abc"}},
                      bad_args{"negative_rate", {"--port", "1", "--rate", "-5"}},
                      bad_args{"zero_duration", {"--port", "1", "--duration", "0"}},
                      bad_args{"arrivals_without_rate", {"--port", "1", "--arrivals", "poisson"}},
                      bad_args{"negative_spin", {"--port", "1", "--rate", "5", "--spin-us", "-1"}},
                      bad_args{"unknown_arrivals", {"--port", "1", "--rate", "5", "--arrivals", "bursty"}},
                      bad_args{"backwards_source_range", {"--port", "1", "--source", "127.0.0.9-127.0.0.1"}},
                      bad_args{"source_not_an_address", {"--port", "1", "--source", "localhost"}},
                      bad_args{"start_at_not_a_number", {"--port", "1", "--start-at", "soon"}},
                      bad_args{"empty_label", {"--port", "1", "--label", ""}},
                      bad_args{"source_mixes_families", {"--port", "1", "--source", "127.0.0.1-::1"}},
                      bad_args{"source_ipv6_backwards", {"--port", "1", "--source", "fd00::9-fd00::1"}},
                      bad_args{"source_ipv6_beyond_a_64", {"--port", "1", "--source", "fd00::1-fd00:0:0:1::1"}},
                      bad_args{"source_ipv6_too_many", {"--port", "1", "--source", "fd00::1-fd00::1:0001"}},
                      bad_args{"error_rate_above_one", {"--port", "1", "--max-error-rate", "2"}},
                      bad_args{"value_for_a_switch", {"--port", "1", "--quiet=yes"}},
                      bad_args{"port_without_value", {"--port"}}),
    [](const ::testing::TestParamInfo<bad_args>& param_info) { return std::string(param_info.param.name); });

}  // namespace
