// rot13-load against real servers over real sockets: the reference select() server, every
// other server built here, and rot13-fault, which stalls, corrupts, crashes and drops on
// purpose. Every run is short (a few seconds) and bounded by a timeout.
#include <gtest/gtest.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "histf_decoder.hpp"
#include "process.hpp"
#include "server_process.hpp"

namespace {

using loadgen_test::run_load;
using nlohmann::json;
using namespace std::chrono_literals;

json read_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) return nullptr;
    return json::parse(in);
}

// A server binary started with --port 0; port() is the one it announced.
struct server : rot13::test::server_process {
    explicit server(const std::string& binary, std::vector<std::string> extra = {})
        : server_process({.binary = binary, .args = std::move(extra)}) {}
};

std::string port_of(server& s) {
    return std::to_string(s.port());
}

// Runs rot13-load with --json to a temporary file and returns the parsed results.
struct json_run {
    loadgen_test::load_run run;
    json results;
};

json_run run_with_json(std::vector<std::string> args, std::chrono::milliseconds limit = 60s) {
    std::string path = loadgen_test::temp_path(".json");
    args.insert(args.end(), {"--json", path});
    json_run r{run_load(args, limit), nullptr};
    r.results = read_json(path);
    std::remove(path.c_str());
    return r;
}

std::int64_t corrected_p99(const json& j) {
    return j.at("summary").at("latency_ns").at("corrected").at("p99");
}

TEST(Integration, ClosedLoopAgainstSelectIsCleanAndVerified) {
    server s(ROT13_SELECT_BINARY);
    auto r = run_with_json({"--port", port_of(s), "-c", "10", "--duration", "1", "--warmup", "0.2"});
    ASSERT_EQ(r.run.status, 0) << r.run.out << r.run.err;
    ASSERT_TRUE(r.results.is_object());
    const json& sum = r.results.at("summary");
    EXPECT_EQ(r.results.at("status"), "ok");
    EXPECT_GT(sum.at("requests").get<std::uint64_t>(), 1000u);
    EXPECT_EQ(sum.at("validation_failures"), 0);
    EXPECT_EQ(sum.at("errors").at("total"), 0);
    EXPECT_EQ(sum.at("connections").at("established"), 10);
    EXPECT_EQ(r.results.at("histograms").at("corrected").at("count"), sum.at("requests"));
    EXPECT_GT(sum.at("bytes_received").get<std::uint64_t>(), 0u);
    EXPECT_NE(r.run.out.find("every reply byte checked: 0 failures"), std::string::npos) << r.run.out;
}

TEST(Integration, PipelinedDepthSixteenIsVerified) {
    server s(ROT13_SELECT_BINARY);
    auto r = run_with_json(
        {"--port", port_of(s), "-c", "4", "--depth", "16", "--duration", "1", "--warmup", "0.2"});
    ASSERT_EQ(r.run.status, 0) << r.run.out << r.run.err;
    EXPECT_EQ(r.results.at("config").at("depth"), 16);
    EXPECT_EQ(r.results.at("summary").at("validation_failures"), 0);
}

class LongLines : public ::testing::TestWithParam<int> {};

// Lines of max_line bytes and more come back in 16384-byte pieces; a line of exactly
// k * 16384 bytes also gets a final empty reply. Every byte and every '\n' is checked.
TEST_P(LongLines, AreAnsweredInPiecesAndVerified) {
    server s(ROT13_SELECT_BINARY);
    auto r = run_with_json({"--port", port_of(s), "-c", "2", "--depth", "2", "--size",
                            std::to_string(GetParam()), "--duration", "0.5", "--warmup", "0"});
    ASSERT_EQ(r.run.status, 0) << r.run.out << r.run.err;
    EXPECT_GT(r.results.at("summary").at("requests").get<int>(), 0);
    EXPECT_EQ(r.results.at("summary").at("validation_failures"), 0);
}

INSTANTIATE_TEST_SUITE_P(Sizes, LongLines, ::testing::Values(0, 16383, 16384, 16385, 32768, 40000));

TEST(Integration, OpenLoopKeepsItsRateAndRecordsSendLag) {
    server s(ROT13_SELECT_BINARY);
    auto r = run_with_json(
        {"--port", port_of(s), "-c", "10", "--rate", "2000", "--duration", "2", "--warmup", "0.2"});
    ASSERT_EQ(r.run.status, 0) << r.run.out << r.run.err;
    const json& sum = r.results.at("summary");
    EXPECT_NEAR(sum.at("requests").get<double>(), 4000, 200);
    EXPECT_EQ(r.results.at("config").at("mode"), "open");
    EXPECT_EQ(r.results.at("loadgen").at("send_lag_ns").at("count"), sum.at("requests"));
}

TEST(Integration, PoissonArrivalsAverageTheRate) {
    server s(ROT13_SELECT_BINARY);
    auto r = run_with_json({"--port", port_of(s), "-c", "10", "--rate", "2000", "--arrivals", "poisson",
                            "--duration", "2", "--warmup", "0"});
    ASSERT_EQ(r.run.status, 0) << r.run.out << r.run.err;
    EXPECT_NEAR(r.results.at("summary").at("requests").get<double>(), 4000, 400);
}

TEST(Integration, IdleConnectionsAreHeldOpen) {
    server s(ROT13_SELECT_BINARY);
    auto r = run_with_json(
        {"--port", port_of(s), "-c", "2", "--idle", "200", "--duration", "0.5", "--warmup", "0"});
    ASSERT_EQ(r.run.status, 0) << r.run.out << r.run.err;
    EXPECT_EQ(r.results.at("summary").at("connections").at("idle_established"), 200);
    EXPECT_EQ(r.results.at("summary").at("latency_ns").at("connect").at("count"), 202);
}

TEST(Integration, ConnectRatePacesTheRampUp) {
    server s(ROT13_SELECT_BINARY);
    // 2 + 300 connections at 1,000 per second: about 0.3 s of ramp-up.
    auto r = run_with_json({"--port", port_of(s), "-c", "2", "--idle", "300", "--connect-rate", "1000",
                            "--duration", "0.3", "--warmup", "0", "--threads", "1"});
    ASSERT_EQ(r.run.status, 0) << r.run.out << r.run.err;
    double ramp = r.results.at("summary").at("ramp_up_s");
    EXPECT_GT(ramp, 0.25);
    EXPECT_LT(ramp, 1.5);
}

// The local addresses of this host's TCP connections to `port`, from /proc/net/tcp or
// tcp6 (hex: "0100007F:9C40" is 127.0.0.1 port 40000; IPv6 addresses as four 32-bit words).
std::set<std::string> local_addresses_connected_to(int port, bool v6) {
    std::ifstream in(v6 ? "/proc/net/tcp6" : "/proc/net/tcp");
    std::string line;
    std::getline(in, line);  // the header
    std::set<std::string> found;
    char remote_port[8];
    std::snprintf(remote_port, sizeof(remote_port), ":%04X", port);
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state;
        fields >> slot >> local >> remote >> state;
        if (state == "01" && remote.ends_with(remote_port)) found.insert(local.substr(0, local.find(':')));
    }
    return found;
}

TEST(Integration, SourceAddressesSpreadTheConnections) {
    server s(ROT13_SELECT_BINARY);
    loadgen_test::child load({ROT13_LOAD_BINARY, "--port", port_of(s), "-c", "8", "--source", "127.0.0.1-127.0.0.4",
                              "--duration", "1.5", "--warmup", "0", "-q"});
    std::this_thread::sleep_for(700ms);  // ramped up, in the window
    auto sources = local_addresses_connected_to(s.port(), false);
    ASSERT_EQ(load.wait(30s), 0) << load.out() << load.err();
    // 127.0.0.1 .. 127.0.0.4, little-endian hex as the kernel prints them.
    EXPECT_EQ(sources, (std::set<std::string>{"0100007F", "0200007F", "0300007F", "0400007F"}));
}

TEST(Integration, SourceTakesAnIpv6Address) {
    std::unique_ptr<server> s;
    try {
        s = std::make_unique<server>(ROT13_SELECT_BINARY, std::vector<std::string>{"--bind", "::1"});
    } catch (const std::exception& e) {
        GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
    }
    loadgen_test::child load({ROT13_LOAD_BINARY, "--host", "::1", "--port", port_of(*s), "-c", "4", "--source", "::1",
                              "--duration", "1.5", "--warmup", "0", "-q"});
    std::this_thread::sleep_for(700ms);
    auto sources = local_addresses_connected_to(s->port(), true);
    ASSERT_EQ(load.wait(30s), 0) << load.out() << load.err();
    EXPECT_EQ(sources, (std::set<std::string>{"00000000000000000000000001000000"}));  // ::1
    // An IPv4 source for an IPv6-only target is refused with a clear reason.
    auto r = run_load({"--host", "::1", "--port", port_of(*s), "--source", "127.0.0.1", "--duration", "0.2"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE((r.out + r.err).find("gives IPv4 addresses, but ::1 has no IPv4 address"), std::string::npos)
        << r.out << r.err;
}

TEST(Integration, ASingleCorruptedByteFailsValidation) {
    // About 1000 lines in all; the 700th reply has one byte flipped.
    server s(ROT13_FAULT_BINARY, {"--corrupt-every", "700"});
    auto r = run_with_json(
        {"--port", port_of(s), "-c", "1", "--rate", "1000", "--duration", "1", "--warmup", "0"});
    EXPECT_EQ(r.run.status, 1) << r.run.out << r.run.err;
    ASSERT_TRUE(r.results.is_object());
    EXPECT_EQ(r.results.at("summary").at("errors").at("mismatch"), 1);
    EXPECT_EQ(r.results.at("summary").at("validation_failures"), 1);
    EXPECT_EQ(r.results.at("status"), "failed");
    EXPECT_NE(r.results.at("reason").get<std::string>().find("validation failure"), std::string::npos);
    ASSERT_EQ(r.results.at("summary").at("mismatches").size(), 1u);
    EXPECT_EQ(r.results.at("summary").at("mismatches").at(0).at("offset"), 0);
    EXPECT_NE(r.run.out.find("expected \""), std::string::npos) << r.run.out;
}

TEST(Integration, AStallShowsInTheCorrectedP99) {
    // 200 ms without service every second at 2,000 lines/s: a fifth of the lines are
    // intended while the server stalls, so the corrected p99 is near 200 ms.
    server s(ROT13_FAULT_BINARY, {"--stall-ms", "200", "--stall-every-ms", "1000"});
    auto r = run_with_json(
        {"--port", port_of(s), "-c", "10", "--rate", "2000", "--duration", "3", "--warmup", "0"});
    ASSERT_EQ(r.run.status, 0) << r.run.out << r.run.err;
    EXPECT_GE(corrected_p99(r.results), 50'000'000) << r.run.out;
}

TEST(Integration, LinesHeldBackByTheDepthCapKeepTheirOwnIntendedTimes) {
    // 300 ms without service every second, 1,000 lines/s on one connection, at most 2 in
    // flight: 2 lines of each stall are sent on time and wait; the ~300 due after them are
    // held back, then leave together as replies free slots (several per write). Each must
    // be timed from its own intended time: the send lags spread from ~300 ms down to ~0
    // (p90 ~200 ms, p99 ~290 ms over a second of lines), the corrected p99 shows the stall,
    // and the uncorrected p99 does not, since only the few lines sent on time waited after
    // their send. A late line timed from its write would show no lag at all, and lines
    // sharing one time would stack up at the largest lag.
    server s(ROT13_FAULT_BINARY, {"--stall-ms", "300", "--stall-every-ms", "1000"});
    auto r = run_with_json({"--port", port_of(s), "-c", "1", "--rate", "1000", "--depth", "2", "--duration",
                            "2", "--warmup", "0"});
    ASSERT_EQ(r.run.status, 0) << r.run.out << r.run.err;
    const json& sum = r.results.at("summary");
    const json& lag = r.results.at("loadgen").at("send_lag_ns");
    EXPECT_NEAR(sum.at("requests").get<double>(), 2000, 200);  // none dropped or merged
    EXPECT_EQ(lag.at("count"), sum.at("requests"));
    EXPECT_GE(lag.at("p99").get<std::int64_t>(), 150'000'000) << r.run.out;
    EXPECT_GE(lag.at("p90").get<std::int64_t>(), 50'000'000) << r.run.out;
    EXPECT_LT(lag.at("p90").get<std::int64_t>(), lag.at("p99").get<std::int64_t>() * 9 / 10) << r.run.out;
    EXPECT_LT(lag.at("p50").get<std::int64_t>(), 20'000'000) << r.run.out;
    EXPECT_GE(corrected_p99(r.results), 150'000'000) << r.run.out;
    EXPECT_LT(sum.at("latency_ns").at("uncorrected").at("p99").get<std::int64_t>(), 50'000'000) << r.run.out;
}

TEST(Integration, SpinningKeepsTheScheduleAndTheStallStillShows) {
    // --spin-us 1000 at 2,000 lines/s: lines are 500 us apart, closer than the spin, so the
    // worker never sleeps between them. It must still send each line once, on its own
    // schedule, and time it from its intended send: the stall shows in the corrected p99 as
    // it does without spinning. The CPU time says the worker really polled rather than
    // slept (sleeping, this load costs a few percent of a CPU).
    server s(ROT13_FAULT_BINARY, {"--stall-ms", "200", "--stall-every-ms", "1000"});
    auto r = run_with_json({"--port", port_of(s), "-c", "10", "--rate", "2000", "--spin-us", "1000", "--duration",
                            "3", "--warmup", "0", "--threads", "1"});
    ASSERT_EQ(r.run.status, 0) << r.run.out << r.run.err;
    const json& sum = r.results.at("summary");
    EXPECT_EQ(r.results.at("config").at("spin_us"), 1000);
    EXPECT_NEAR(sum.at("requests").get<double>(), 6000, 300);
    EXPECT_EQ(r.results.at("loadgen").at("send_lag_ns").at("count"), sum.at("requests"));
    EXPECT_GE(corrected_p99(r.results), 50'000'000) << r.run.out;
    const json& l = r.results.at("loadgen");
    EXPECT_GE(l.at("cpu_user_s").get<double>() + l.at("cpu_sys_s").get<double>(), 0.75) << r.run.out;
}

TEST(Integration, ACleanRunHasNoSuchP99) {
    server s(ROT13_FAULT_BINARY);  // the same server without faults
    auto r = run_with_json(
        {"--port", port_of(s), "-c", "10", "--rate", "2000", "--duration", "3", "--warmup", "0"});
    ASSERT_EQ(r.run.status, 0) << r.run.out << r.run.err;
    EXPECT_LT(corrected_p99(r.results), 50'000'000) << r.run.out;
}

TEST(Integration, BrokenP99ThresholdFailsTheRun) {
    server s(ROT13_FAULT_BINARY, {"--stall-ms", "200", "--stall-every-ms", "1000"});
    auto r = run_with_json({"--port", port_of(s), "-c", "4", "--rate", "1000", "--duration", "2", "--warmup",
                            "0", "--max-p99-ms", "20"});
    EXPECT_EQ(r.run.status, 1) << r.run.out;
    EXPECT_NE(r.results.at("reason").get<std::string>().find("--max-p99-ms 20"), std::string::npos);
}

TEST(Integration, ACrashingServerGivesAFailedRunWithJsonAndNoHang) {
    server s(ROT13_FAULT_BINARY, {"--crash-after", "500"});
    auto r = run_with_json(
        {"--port", port_of(s), "-c", "4", "--duration", "2", "--warmup", "0", "--timeout", "1"}, 20s);
    EXPECT_EQ(r.run.status, 1) << r.run.out << r.run.err;
    EXPECT_LT(r.run.seconds, 10);
    ASSERT_TRUE(r.results.is_object()) << "no JSON written";
    EXPECT_EQ(r.results.at("status"), "failed");
    const json& e = r.results.at("summary").at("errors");
    EXPECT_GT(e.at("closed").get<int>() + e.at("reset").get<int>() + e.at("short_reply").get<int>(), 0) << e;
    EXPECT_GT(e.at("refused").get<int>(), 0) << e;  // reconnects find nobody listening
}

TEST(Integration, DroppedConnectionsAreCountedAndReconnected) {
    server s(ROT13_FAULT_BINARY, {"--drop-after", "100"});
    auto r = run_with_json(
        {"--port", port_of(s), "-c", "2", "--duration", "1", "--warmup", "0", "--max-error-rate", "1"});
    ASSERT_EQ(r.run.status, 0) << r.run.out << r.run.err;
    const json& sum = r.results.at("summary");
    EXPECT_GT(sum.at("errors").at("reset").get<int>() + sum.at("errors").at("closed").get<int>(), 0);
    EXPECT_GT(sum.at("requests").get<int>(), 400);  // more than two connections' worth: reconnects work
}

TEST(Integration, ConnectionsLeftWaitingForTheWholeWindowFailTheRun) {
    // A thread pool of one thread serves one connection at a time: of three connections,
    // two get no reply at all. Their lines never reach the figures, so the run must say so
    // instead of reporting the one served connection's throughput as the server's.
    server s(ROT13_THREADPOOL_BINARY, {"--threads", "1"});
    auto r = run_with_json({"--port", port_of(s), "-c", "3", "--duration", "0.5", "--warmup", "0.2"});
    EXPECT_EQ(r.run.status, 1) << r.run.out << r.run.err;
    ASSERT_TRUE(r.results.is_object());
    EXPECT_EQ(r.results.at("status"), "failed");
    EXPECT_EQ(r.results.at("summary").at("starved_connections"), 2);
    EXPECT_NE(r.results.at("reason").get<std::string>().find("2 of 3 connections got no reply"), std::string::npos)
        << r.results.at("reason");
}

TEST(Integration, AServerThatServesEveryConnectionStarvesNone) {
    server s(ROT13_THREADPOOL_BINARY, {"--threads", "3"});
    auto r = run_with_json({"--port", port_of(s), "-c", "3", "--duration", "0.5", "--warmup", "0.2"});
    EXPECT_EQ(r.run.status, 0) << r.run.out << r.run.err;
    EXPECT_EQ(r.results.at("summary").at("starved_connections"), 0);
}

TEST(Integration, NoServerFailsFast) {
    int port;
    {
        server s(ROT13_SELECT_BINARY);  // a port that was just free, now closed again
        port = s.port();
    }
    auto r = run_with_json({"--port", std::to_string(port), "-c", "2", "--duration", "5"}, 20s);
    EXPECT_EQ(r.run.status, 1) << r.run.out << r.run.err;
    EXPECT_LT(r.run.seconds, 4);
    ASSERT_TRUE(r.results.is_object());
    EXPECT_EQ(r.results.at("status"), "failed");
    EXPECT_GT(r.results.at("summary").at("errors").at("refused").get<int>(), 0);
}

TEST(Integration, SigtermEndsTheRunEarlyAndStillWritesEverything) {
    server s(ROT13_SELECT_BINARY);
    std::string path = loadgen_test::temp_path(".json");
    loadgen_test::child load({ROT13_LOAD_BINARY, "--port", port_of(s), "-c", "4", "--duration", "30",
                              "--warmup", "0", "--json", path});
    std::this_thread::sleep_for(1500ms);
    load.signal(SIGTERM);
    int status = load.wait(10s);
    EXPECT_EQ(status, 0) << load.out() << load.err();
    json j = read_json(path);
    std::remove(path.c_str());
    ASSERT_TRUE(j.is_object());
    EXPECT_NE(j.at("reason").get<std::string>().find("interrupted by SIGTERM"), std::string::npos);
    EXPECT_GT(j.at("summary").at("requests").get<int>(), 0);
    EXPECT_LT(j.at("summary").at("duration_s").get<double>(), 5);
    EXPECT_NE(load.out().find("latency"), std::string::npos);
}

// --json to something that is not a regular file (a FIFO here; /dev/null in a test script)
// is written into, not replaced: the temporary-file-and-rename that keeps results files
// whole once turned /dev/null into a regular file.
TEST(Integration, JsonToAFifoIsWrittenThroughAndTheFifoStays) {
    std::string fifo = loadgen_test::temp_path(".fifo");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
    // The reader opens the FIFO through a second name, so that if rot13-load replaced the
    // first name by a file, the reader (blocked in open() until a writer comes) can still be
    // released below and the test fails instead of hanging.
    std::string second_name = fifo + ".reader";
    ASSERT_EQ(::link(fifo.c_str(), second_name.c_str()), 0) << std::strerror(errno);
    std::string received;
    std::thread reader([&] {
        std::ifstream in(second_name);
        received.assign(std::istreambuf_iterator<char>(in), {});
    });
    server s(ROT13_SELECT_BINARY);
    auto r = run_load({"--port", port_of(s), "-c", "1", "--duration", "0.3", "--warmup", "0", "-q",
                       "--json", fifo});
    int release = ::open(second_name.c_str(), O_WRONLY | O_NONBLOCK);  // fails once the reader is done
    if (release >= 0) ::close(release);
    reader.join();
    std::filesystem::remove(second_name);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(std::filesystem::is_fifo(fifo)) << "the FIFO was replaced by a regular file";
    EXPECT_FALSE(std::filesystem::exists(fifo + ".tmp"));
    std::filesystem::remove(fifo);
    ASSERT_FALSE(received.empty());
    EXPECT_EQ(json::parse(received).at("status"), "ok");
}

double epoch_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST(Integration, StartAtStartsTwoGeneratorsTogetherAndTheyMergeExactly) {
    server s(ROT13_SELECT_BINARY);
    std::string a = loadgen_test::temp_path(".json"), b = loadgen_test::temp_path(".json");
    char start[32];
    std::snprintf(start, sizeof(start), "%.3f", epoch_now() + 1.5);
    auto generator = [&](const char* label, const char* connections, const std::string& path) {
        return std::make_unique<loadgen_test::child>(std::vector<std::string>{
            ROT13_LOAD_BINARY, "--port", port_of(s), "-c", connections, "--duration", "1", "--warmup", "0.2",
            "--start-at", start, "--label", label, "--json", path, "-q"});
    };
    auto ga = generator("one", "2", a);
    std::this_thread::sleep_for(300ms);  // started apart, they still begin together
    auto gb = generator("two", "3", b);
    ASSERT_EQ(ga->wait(20s), 0) << ga->err();
    ASSERT_EQ(gb->wait(20s), 0) << gb->err();
    json ja = read_json(a), jb = read_json(b);
    for (const json* j : {&ja, &jb}) {
        ASSERT_TRUE(j->is_object());
        EXPECT_DOUBLE_EQ(j->at("config").at("start_at_epoch_s").get<double>(), std::stod(start));
        // Traffic began at the time given, not when the process started.
        EXPECT_NEAR(j->at("summary").at("traffic_start_epoch_s").get<double>(), std::stod(start), 0.005);
        EXPECT_NEAR(j->at("summary").at("window_start_epoch_s").get<double>(), std::stod(start) + 0.2, 0.005);
        EXPECT_LT(j->at("summary").at("start_late_s").get<double>(), 0.005);  // a timer's wake-up
    }
    EXPECT_EQ(ja.at("config").at("label"), "one");
    EXPECT_EQ(jb.at("config").at("label"), "two");

    auto m = run_load({"merge", a, b});
    std::remove(a.c_str());
    std::remove(b.c_str());
    ASSERT_EQ(m.status, 0) << m.err;
    json jm = json::parse(m.out);
    EXPECT_EQ(jm.at("summary").at("requests"), ja.at("summary").at("requests").get<std::uint64_t>() +
                                                   jb.at("summary").at("requests").get<std::uint64_t>());
    EXPECT_EQ(jm.at("histograms").at("corrected").at("count"), jm.at("summary").at("requests"));
    EXPECT_EQ(jm.at("summary").at("connections").at("requested"), 5);
    EXPECT_EQ(jm.at("status"), "ok");
    EXPECT_LT(jm.at("merge").at("start_spread_ms").get<double>(), 5);
    EXPECT_FALSE(jm.at("merge").at("forced").get<bool>());
    EXPECT_NE(m.err.find("start spread"), std::string::npos) << m.err;
}

TEST(Integration, MergeRefusesRunsAgainstTwoServersOfDifferentLengths) {
    server s1(ROT13_SELECT_BINARY), s2(ROT13_SELECT_BINARY);
    std::string a = loadgen_test::temp_path(".json"), b = loadgen_test::temp_path(".json");
    auto ra = run_load({"--port", port_of(s1), "-c", "2", "--duration", "1", "--warmup", "0", "--json", a, "-q"});
    auto rb = run_load({"--port", port_of(s2), "-c", "2", "--duration", "0.8", "--warmup", "0", "--json", b, "-q"});
    ASSERT_EQ(ra.status, 0);
    ASSERT_EQ(rb.status, 0);
    auto refused = run_load({"merge", a, b});
    EXPECT_EQ(refused.status, 1);
    EXPECT_TRUE(refused.out.empty()) << refused.out;
    EXPECT_NE(refused.err.find("not one experiment"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("target differs"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("windows overlap by only"), std::string::npos) << refused.err;
    auto forced = run_load({"merge", "--force", a, b});
    std::remove(a.c_str());
    std::remove(b.c_str());
    ASSERT_EQ(forced.status, 0) << forced.err;
    json jm = json::parse(forced.out);
    EXPECT_TRUE(jm.at("merge").at("forced").get<bool>());
    EXPECT_EQ(jm.at("merge").at("mismatches").size(), 2u);
}

TEST(Integration, StopOnStdinCloseEndsTheRunAndWritesIt) {
    server s(ROT13_SELECT_BINARY);
    std::string path = loadgen_test::temp_path(".json");
    // sleep's end closes the pipe that is rot13-load's stdin, as a dropped ssh link would.
    loadgen_test::child load({"/bin/sh", "-c",
                              "sleep 1 | " + std::string(ROT13_LOAD_BINARY) + " --port " + port_of(s) +
                                  " -c 2 --duration 30 --warmup 0 --stop-on-stdin-close -q --json " + path});
    int status = load.wait(10s);
    EXPECT_EQ(status, 0) << load.err();
    json j = read_json(path);
    std::remove(path.c_str());
    ASSERT_TRUE(j.is_object());
    EXPECT_NE(j.at("reason").get<std::string>().find("interrupted by SIGTERM"), std::string::npos);
    EXPECT_LT(j.at("summary").at("duration_s").get<double>(), 5);
}

TEST(Integration, ClockOffsetComesFromChronyc) {
    // A stand-in chronyc first on PATH, for this test's rot13-load only.
    std::string dir = loadgen_test::temp_path(".bin");
    std::filesystem::create_directories(dir);
    {
        std::ofstream script(dir + "/chronyc");
        script << "#!/bin/sh\n"
                  "printf 'System time     : 0.000250000 seconds slow of NTP time\\n'\n"
                  "printf 'Root delay      : 0.002 seconds\\nRoot dispersion : 0.001 seconds\\n'\n"
                  "printf 'Leap status     : Normal\\n'\n";
    }
    std::filesystem::permissions(dir + "/chronyc", std::filesystem::perms::owner_all);
    std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", (dir + ":" + old_path).c_str(), 1);
    server s(ROT13_SELECT_BINARY);
    auto r = run_with_json({"--port", port_of(s), "-c", "1", "--duration", "0.2", "--warmup", "0", "-q"});
    ::setenv("PATH", old_path.c_str(), 1);
    std::filesystem::remove_all(dir);
    ASSERT_EQ(r.run.status, 0) << r.run.err;
    const json& clock = r.results.at("context").at("clock");
    EXPECT_DOUBLE_EQ(clock.at("offset_s").get<double>(), -0.00025);
    EXPECT_DOUBLE_EQ(clock.at("max_error_s").get<double>(), 0.002);
}

TEST(Integration, HdrLogHoldsEverySecondOfTheWindow) {
    server s(ROT13_SELECT_BINARY);
    std::string log = loadgen_test::temp_path(".hlog");
    auto r = run_with_json({"--port", port_of(s), "-c", "2", "--rate", "500", "--duration", "2", "--warmup",
                            "0.2", "--hdr-log", log});
    ASSERT_EQ(r.run.status, 0) << r.run.out;
    std::ifstream in(log);
    std::string line;
    std::int64_t corrected = 0;
    int intervals = 0;
    while (std::getline(in, line)) {
        if (line.rfind("Tag=corrected,", 0) != 0) continue;
        ++intervals;
        corrected += loadgen_test::decode_histf(line.substr(line.find("HISTF"))).total();
    }
    std::remove(log.c_str());
    EXPECT_EQ(intervals, 2);
    EXPECT_EQ(corrected, r.results.at("summary").at("requests").get<std::int64_t>());
}

// A quick verified run against every server variant built here (the reference included).
class EveryServer : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryServer, AnswersEveryLineCorrectly) {
    server s(GetParam());
    auto r = run_with_json({"--port", port_of(s), "-c", "2", "--depth", "4", "--size", "100", "--duration",
                            "0.5", "--warmup", "0", "--timeout", "5"});
    EXPECT_EQ(r.run.status, 0) << r.run.out << r.run.err;
}

std::vector<std::string> server_binaries() {
    std::vector<std::string> out;
    std::istringstream in(ROT13_SERVER_BINARIES);
    std::string path;
    while (std::getline(in, path, ';'))
        if (!path.empty()) out.push_back(path);
    return out;
}

INSTANTIATE_TEST_SUITE_P(Built, EveryServer, ::testing::ValuesIn(server_binaries()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                             std::string name = param_info.param.substr(param_info.param.rfind("rot13-") + 6);
                             for (char& c : name)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return name;
                         });

}  // namespace
