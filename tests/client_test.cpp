// echod-client against the real echod, and against servers that answer wrongly or not at all.
#define BOOST_TEST_MODULE client
#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>

#include <functional>
#include <future>
#include <random>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {

// A one-connection server on 127.0.0.1 that runs `behave` on the accepted socket; `behave`
// may wait on `released`, which is set when the test is done with the server.
class FakeServer {
public:
    explicit FakeServer(std::function<void(int, const std::shared_future<void>&)> behave)
        : listener_(listen_loopback()), port_(local_port(listener_.get()))
    {
        thread_ = std::thread([this, behave, released = release_.get_future().share()] {
            pollfd pfd{listener_.get(), POLLIN, 0};
            if (::poll(&pfd, 1, 10000) == 1) {
                UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
                behave(conn.get(), released);
            }
        });
    }
    ~FakeServer()
    {
        release_.set_value();
        thread_.join();
    }
    std::string port() const { return std::to_string(port_); }

private:
    UniqueFd listener_;
    std::promise<void> release_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

std::string read_some(int fd)
{
    char buffer[4096];
    pollfd pfd{fd, POLLIN, 0};
    ::poll(&pfd, 1, 5000);
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(client_echoes_a_message_and_binary_standard_input)
{
    Echod echod("address = 127.0.0.1\naddress = ::1\n");
    const std::string port = std::to_string(echod.port);
    const CommandResult words = run_command({client_path(), "localhost", port, "Hello", "world!"});
    BOOST_TEST(words.status == 0, words.err);
    BOOST_TEST(words.out == "Hello world!\n");
    const CommandResult v6 = run_command({client_path(), "::1", port, "six"});
    BOOST_TEST(v6.status == 0, v6.err);
    BOOST_TEST(v6.out == "six\n");

    std::mt19937 random(42);
    std::string binary(2 * 1024 * 1024, '\0');
    for (char& c : binary) {
        c = static_cast<char>(random() & 0xff);
    }
    const CommandResult stream = run_command({client_path(), "127.0.0.1", port}, binary, 60s);
    BOOST_TEST(stream.status == 0, stream.err);
    BOOST_TEST((stream.out == binary));
}

BOOST_AUTO_TEST_CASE(client_fails_when_the_reply_differs)
{
    FakeServer server([](int fd, const std::shared_future<void>&) {
        read_some(fd);
        ::send(fd, "Hellx", 5, MSG_NOSIGNAL);
    });
    const CommandResult run = run_command({client_path(), "127.0.0.1", server.port(), "Hello"});
    BOOST_TEST(run.status == 1);
    BOOST_TEST(run.err.find("the reply differs at byte 4") != std::string::npos, run.err);
}

BOOST_AUTO_TEST_CASE(client_fails_when_the_reply_is_short)
{
    FakeServer server([](int fd, const std::shared_future<void>&) {
        read_some(fd);
        ::send(fd, "Hel", 3, MSG_NOSIGNAL);
    });
    const CommandResult run = run_command({client_path(), "127.0.0.1", server.port(), "Hello"});
    BOOST_TEST(run.status == 1);
    BOOST_TEST(run.err.find("the server closed the connection after 3 of 6 bytes") != std::string::npos,
               run.err);
}

BOOST_AUTO_TEST_CASE(client_gives_up_when_no_reply_comes)
{
    FakeServer server([](int fd, const std::shared_future<void>& released) {
        read_some(fd);
        released.wait_for(10s);  // holds the connection and never answers
    });
    const auto start = Clock::now();
    const CommandResult run = run_command({client_path(), "-t", "1", "127.0.0.1", server.port(), "anyone?"});
    BOOST_TEST(run.status == 1);
    BOOST_TEST(run.err.find("no reply within 1000 ms") != std::string::npos, run.err);
    BOOST_TEST((Clock::now() - start < 5s));
}

BOOST_AUTO_TEST_CASE(client_fails_when_the_reply_cannot_be_written_out)
{
    Echod echod("");
    const CommandResult run = run_command(
        {"sh", "-c", "exec \"$0\" 127.0.0.1 \"$1\" hello > /dev/full", client_path(),
         std::to_string(echod.port)});
    BOOST_TEST(run.status == 1);
    BOOST_TEST(run.err.find("cannot write the reply out: No space left on device") != std::string::npos,
               run.err);
}

BOOST_AUTO_TEST_CASE(client_reports_a_refused_connection_and_bad_usage)
{
    const CommandResult refused = run_command({client_path(), "127.0.0.1", std::to_string(free_port()), "x"});
    BOOST_TEST(refused.status == 69);
    BOOST_TEST(refused.err.find("Connection refused") != std::string::npos, refused.err);
    const CommandResult usage = run_command({client_path(), "127.0.0.1"});
    BOOST_TEST(usage.status == 64);
    BOOST_TEST(usage.err.find("Usage: echod-client") != std::string::npos);
}

// getaddrinfo took PORT+65536 as PORT (it wraps), and a word starting with '-' as a port.
BOOST_AUTO_TEST_CASE(client_takes_ports_1_to_65535_and_an_ipv6_host_in_brackets)
{
    Echod echod("address = 127.0.0.1\naddress = ::1\n");
    const std::string port = std::to_string(echod.port);
    for (const std::string& bad : {std::to_string(echod.port + 65536), std::string("0"),
                                   std::string("65536"), std::string("-0"), std::string("echo"),
                                   std::string("+7"), std::string(""), port + "x"}) {
        const CommandResult run = run_command({client_path(), "127.0.0.1", bad, "x"});
        BOOST_TEST(run.status == 64, bad);
        BOOST_TEST(run.err.find("PORT must be a number from 1 to 65535") != std::string::npos,
                   run.err);
    }
    const CommandResult option = run_command({client_path(), "-0", "127.0.0.1", port});
    BOOST_TEST(option.status == 64);
    BOOST_TEST(option.err.find("unknown option '-0'") != std::string::npos, option.err);
    // echod writes and accepts [::1]; so does the client.
    const CommandResult bracketed = run_command({client_path(), "[::1]", port, "six"});
    BOOST_TEST(bracketed.status == 0, bracketed.err);
    BOOST_TEST(bracketed.out == "six\n");
}

// Started with stdin or stdout closed, the client's socket took descriptor 0 or 1: the
// echo went back into the connection, or the socket was read as the input.
BOOST_AUTO_TEST_CASE(client_started_with_closed_standard_descriptors_keeps_the_socket_off_them)
{
    Echod echod("");
    const std::string port = std::to_string(echod.port);
    const CommandResult no_stdout = run_command(
        {"sh", "-c", "exec \"$0\" 127.0.0.1 \"$1\" hello >&-", client_path(), port}, "", 10s);
    BOOST_TEST(no_stdout.status == 0, no_stdout.err);
    BOOST_TEST(no_stdout.err.empty(), no_stdout.err);
    const CommandResult no_stdin = run_command(
        {"sh", "-c", "exec \"$0\" -t 2 127.0.0.1 \"$1\" <&-", client_path(), port}, "", 10s);
    BOOST_TEST(no_stdin.status == 0, no_stdin.err);  // empty input: nothing sent, the close back
    BOOST_TEST(no_stdin.out.empty());
}

// A local read error is not a connect failure: 69 is for resolve and connect only.
BOOST_AUTO_TEST_CASE(client_input_that_cannot_be_read_exits_1)
{
    Echod echod("");
    const CommandResult run = run_command(
        {"sh", "-c", "exec \"$0\" 127.0.0.1 \"$1\" < /", client_path(), std::to_string(echod.port)});
    BOOST_TEST(run.status == 1);
    BOOST_TEST(run.err.find("cannot read the input: Is a directory") != std::string::npos, run.err);
}

// -t is the server's silence: a pause in the client's own input, with nothing owed back,
// does not count.
BOOST_AUTO_TEST_CASE(client_timeout_counts_only_time_the_server_owes_something)
{
    Echod echod("");
    const auto start = Clock::now();
    const CommandResult run = run_command(
        {"sh", "-c", "(printf one; sleep 2; printf two) | exec \"$0\" -t 1 127.0.0.1 \"$1\"",
         client_path(), std::to_string(echod.port)},
        "", 20s);
    BOOST_TEST(run.status == 0, run.err);
    BOOST_TEST(run.out == "onetwo");
    BOOST_TEST((Clock::now() - start >= 2s));
}
