// rot13-load-floor (bench/loadgen_floor.cpp), the floor client of bench/loadgen_targets.sh:
// its figures are only worth quoting if it really completes verified lines against a real
// server and really notices a wrong byte.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "process.hpp"
#include "server_process.hpp"

namespace {

using namespace std::chrono_literals;

struct floor_run {
    int status;
    std::string out, err;
};

floor_run run_floor(const rot13::test::server_process& server, const char* duration,
                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {ROT13_LOAD_FLOOR_BINARY, "--port", std::to_string(server.port()),
                                     "--connections", "10", "--duration", duration};
    args.insert(args.end(), extra.begin(), extra.end());
    loadgen_test::child c(args);
    int status = c.wait(30s);
    return {status, c.out(), c.err()};
}

TEST(Floor, CompletesVerifiedLinesAgainstARealServer) {
    rot13::test::server_process server({.binary = ROT13_SELECT_BINARY, .args = {}});
    floor_run r = run_floor(server, "0.5");
    if (r.status == 77) GTEST_SKIP() << r.err;  // io_uring refused by this kernel
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_GT(j.at("requests").get<std::uint64_t>(), 100u) << r.out;  // thousands on an idle machine
    EXPECT_GT(j.at("cpu_sys_s").get<double>() + j.at("cpu_user_s").get<double>(), 0.0) << r.out;
}

class FloorOpenLoop : public ::testing::TestWithParam<std::vector<std::string>> {};

// The open loop: every line due in the second is sent (line j at j / rate), every reply
// checked, and each line's send lag reported from before and from after the system call
// that sent it, the second never the smaller.
TEST_P(FloorOpenLoop, SendsEachLineOnScheduleAndReportsItsLag) {
    rot13::test::server_process server({.binary = ROT13_SELECT_BINARY, .args = {}});
    floor_run r = run_floor(server, "1", GetParam());
    if (r.status == 77) GTEST_SKIP() << r.err;
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("sent").get<std::uint64_t>(), 2000u) << r.out;
    EXPECT_GT(j.at("requests").get<std::uint64_t>(), 1900u) << r.out;  // all but the last moment's
    EXPECT_LE(j.at("requests").get<std::uint64_t>(), 2000u) << r.out;
    const auto& before = j.at("send_lag_ns");
    const auto& after = j.at("send_lag_after_ns");
    EXPECT_LE(before.at("p50").get<std::int64_t>(), before.at("p99").get<std::int64_t>()) << r.out;
    EXPECT_LE(before.at("p99").get<std::int64_t>(), before.at("max").get<std::int64_t>()) << r.out;
    EXPECT_GE(after.at("p99").get<std::int64_t>(), before.at("p99").get<std::int64_t>()) << r.out;
    EXPECT_GE(after.at("max").get<std::int64_t>(), before.at("max").get<std::int64_t>()) << r.out;
}

INSTANTIATE_TEST_SUITE_P(TimedAndSpinning, FloorOpenLoop,
                         ::testing::Values(std::vector<std::string>{"--rate", "2000"},
                                           std::vector<std::string>{"--rate", "2000", "--spin-us", "100"}));

TEST(Floor, StopsAtTheFirstWrongReplyByte) {
    rot13::test::server_process server({.binary = ROT13_FAULT_BINARY, .args = {"--corrupt-every", "500"}});
    floor_run r = run_floor(server, "2");
    if (r.status == 77) GTEST_SKIP() << r.err;
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.err.find("wrong reply byte"), std::string::npos) << r.err;
}

}  // namespace
