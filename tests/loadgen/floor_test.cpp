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

floor_run run_floor(const rot13::test::server_process& server, const char* duration) {
    loadgen_test::child c({ROT13_LOAD_FLOOR_BINARY, "--port", std::to_string(server.port()), "--connections", "10",
                           "--duration", duration});
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

TEST(Floor, StopsAtTheFirstWrongReplyByte) {
    rot13::test::server_process server({.binary = ROT13_FAULT_BINARY, .args = {"--corrupt-every", "500"}});
    floor_run r = run_floor(server, "2");
    if (r.status == 77) GTEST_SKIP() << r.err;
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.err.find("wrong reply byte"), std::string::npos) << r.err;
}

}  // namespace
