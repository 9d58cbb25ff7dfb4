// Unit tests for common/: the rot13 table, command-line errors, the listening socket, and
// the POSIX side of the socket and signal interfaces (the Windows side runs only inside the
// Windows servers, under Wine: tests/conformance).
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "common/fd.hpp"
#include "common/listener.hpp"
#include "common/rot13.hpp"
#include "common/signals.hpp"
#include "common/socket.hpp"

namespace {

// An independent statement of the rule: rotate letters within their case, nothing else.
unsigned char model(unsigned char c) {
    if (c >= 'a' && c <= 'z') return static_cast<unsigned char>('a' + (c - 'a' + 13) % 26);
    if (c >= 'A' && c <= 'Z') return static_cast<unsigned char>('A' + (c - 'A' + 13) % 26);
    return c;
}

TEST(Rot13, MapsEveryByteValueLikeTheModel) {
    for (int b = 0; b < 256; ++b) {
        EXPECT_EQ(rot13::rot13_byte(static_cast<unsigned char>(b)), model(static_cast<unsigned char>(b))) << b;
    }
}

TEST(Rot13, TableTransformAgreesWithTheByteFunctionOverAllValues) {
    std::string all(256, '\0');
    for (int b = 0; b < 256; ++b) all[b] = static_cast<char>(b);
    std::string out(256, '\0');
    rot13::rot13_copy(all, out.data());
    for (int b = 0; b < 256; ++b) EXPECT_EQ(static_cast<unsigned char>(out[b]), model(static_cast<unsigned char>(b)));
}

TEST(Rot13, AppliedTwiceIsTheIdentity) {
    std::string text = "Hello, World! \x80\xff\r\n";
    std::string original = text;
    rot13::rot13_inplace(text);
    EXPECT_EQ(text.substr(0, 5), "Uryyb");
    rot13::rot13_inplace(text);
    EXPECT_EQ(text, original);
}

const rot13::server_spec plain{.program = "rot13-test", .description = "test"};
const rot13::server_spec with_backend{.program = "rot13-test", .description = "test", .takes_backend = true};

rot13::server_options parse(std::vector<std::string_view> args, const rot13::server_spec& spec = plain) {
    return rot13::parse_server_options(args, spec);
}

TEST(Cli, DefaultsAreTheBooksPortOnLoopback) {
    auto opts = parse({});
    EXPECT_EQ(opts.port, 40713);
    EXPECT_EQ(opts.bind, "127.0.0.1");
    EXPECT_FALSE(opts.help);
}

TEST(Cli, AcceptsSeparateAndInlineValues) {
    auto opts = parse({"--port", "0", "--bind=::1", "--backlog", "128"});
    EXPECT_EQ(opts.port, 0);
    EXPECT_EQ(opts.bind, "::1");
    EXPECT_EQ(opts.backlog, 128);
}

TEST(Cli, RejectsUnknownFlagNamingIt) {
    try {
        parse({"--frobnicate"});
        FAIL() << "no usage_error";
    } catch (const rot13::usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("--frobnicate"), std::string::npos);
    }
}

TEST(Cli, RejectsOutOfRangeAndNonNumericPorts) {
    EXPECT_THROW(parse({"--port", "65536"}), rot13::usage_error);
    EXPECT_THROW(parse({"--port", "12ab"}), rot13::usage_error);
    EXPECT_THROW(parse({"--port", "-1"}), rot13::usage_error);
}

TEST(Cli, RejectsAFlagWithoutItsValue) { EXPECT_THROW(parse({"--port"}), rot13::usage_error); }

TEST(Cli, BackendIsOnlyAcceptedByVariantsThatDeclareIt) {
    EXPECT_THROW(parse({"--backend", "poll"}), rot13::usage_error);
    EXPECT_EQ(parse({"--backend", "poll"}, with_backend).backend, "poll");
}

TEST(Cli, HelpIsRecognisedAndUsageListsCommonFlags) {
    EXPECT_TRUE(parse({"--help"}).help);
    std::string usage = rot13::server_usage(with_backend);
    for (const char* flag : {"--port", "--bind", "--backlog", "--backend", "--help"})
        EXPECT_NE(usage.find(flag), std::string::npos) << flag;
}

TEST(Listener, PortZeroBindsAFreePortAndReportsIt) {
    rot13::server_options opts;
    opts.port = 0;
    auto fd = rot13::open_listener(opts, true);
    std::string address = rot13::local_address(fd.get());
    ASSERT_EQ(address.rfind("127.0.0.1:", 0), 0u) << address;
    EXPECT_NE(std::stoi(address.substr(10)), 0);
    EXPECT_TRUE(::fcntl(fd.get(), F_GETFL) & O_NONBLOCK);
}

TEST(Listener, AcceptsAConnectionOnTheReportedPort) {
    rot13::server_options opts;
    opts.port = 0;
    auto listener = rot13::open_listener(opts, false);
    std::string address = rot13::local_address(listener.get());
    sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rot13::unique_fd c(::socket(AF_INET, SOCK_STREAM, 0));
    ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&target), sizeof(target)), 0);
    rot13::unique_fd accepted(::accept(listener.get(), nullptr, nullptr));
    EXPECT_TRUE(accepted);
}

TEST(Listener, BindFailureNamesTheAddress) {
    rot13::server_options first;
    first.port = 0;
    auto taken = rot13::open_listener(first, false);
    std::string address = rot13::local_address(taken.get());
    rot13::server_options second;
    second.port = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
    try {
        rot13::open_listener(second, false);
        FAIL() << "binding a port in use succeeded";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), EADDRINUSE);
        EXPECT_NE(std::string(e.what()).find(address), std::string::npos) << e.what();
    }
}

TEST(Listener, RejectsAnAddressThatIsNotIp) {
    rot13::server_options opts;
    opts.bind = "not-an-address";
    EXPECT_THROW(rot13::open_listener(opts, false), std::system_error);
}

TEST(UniqueFd, ClosesOnDestructionAndNotAfterRelease) {
    int raw = ::open("/dev/null", O_RDONLY);
    { rot13::unique_fd owned(raw); }
    EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
    int kept = ::open("/dev/null", O_RDONLY);
    {
        rot13::unique_fd owned(kept);
        EXPECT_EQ(owned.release(), kept);
    }
    EXPECT_NE(::fcntl(kept, F_GETFD), -1);
    ::close(kept);
}

TEST(Wakeup, IsReadableAfterNotifyUntilDrained) {
    rot13::wakeup w;
    pollfd p{w.readable(), POLLIN, 0};
    EXPECT_EQ(rot13::poll_sockets(&p, 1, 0), 0);
    w.notify();
    w.notify();
    EXPECT_EQ(rot13::poll_sockets(&p, 1, 1000), 1);
    w.drain();
    EXPECT_EQ(rot13::poll_sockets(&p, 1, 0), 0);
}

TEST(FdSet, PosixCapIsOnTheDescriptorNumberNotOnHowManyAreOpen) {
    EXPECT_TRUE(rot13::fits_in_fd_set(FD_SETSIZE - 1, FD_SETSIZE + 100));
    EXPECT_FALSE(rot13::fits_in_fd_set(FD_SETSIZE, 0));
}

TEST(SocketErrors, LastSocketErrorIsErrnoOnPosix) {
    char byte = 0;
    ASSERT_LT(::recv(-1, &byte, 1, 0), 0);
    EXPECT_EQ(rot13::last_socket_error(), EBADF);
}

TEST(SocketModes, SetBlockingClearsWhatSetNonblockingSets) {
    rot13::unique_socket s(::socket(AF_INET, SOCK_STREAM, 0));
    rot13::set_nonblocking(s.get());
    EXPECT_TRUE(::fcntl(s.get(), F_GETFL) & O_NONBLOCK);
    rot13::set_blocking(s.get());
    EXPECT_FALSE(::fcntl(s.get(), F_GETFL) & O_NONBLOCK);
}

bool blocked(int sig) {
    sigset_t now;
    ::pthread_sigmask(SIG_SETMASK, nullptr, &now);
    return sigismember(&now, sig) == 1;
}

TEST(StopSignalsBlocked, BlocksBothAndRestoresOnlyWhatItBlocked) {
    ASSERT_FALSE(blocked(SIGTERM));
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &term, nullptr);  // blocked before: must stay blocked
    {
        rot13::stop_signals_blocked guard;
        EXPECT_TRUE(blocked(SIGTERM));
        EXPECT_TRUE(blocked(SIGINT));
    }
    EXPECT_TRUE(blocked(SIGTERM));
    EXPECT_FALSE(blocked(SIGINT));
    ::pthread_sigmask(SIG_UNBLOCK, &term, nullptr);
}

}  // namespace
