// echod-client against the real echod, and against servers that answer wrongly or not at all.
#define BOOST_TEST_MODULE client
#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <boost/algorithm/string/join.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fstream>
#include <functional>
#include <future>
#include <random>
#include <regex>
#include <set>
#include <sstream>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {

// A server on 127.0.0.1 that runs `behave` on each of `connections` accepted sockets in
// turn; `behave` may wait on `released`, which is set when the test is done with the server.
class FakeServer {
public:
    explicit FakeServer(std::function<void(int, const std::shared_future<void>&)> behave,
                        int connections = 1)
        : listener_(listen_loopback()), port_(local_port(listener_.get()))
    {
        thread_ = std::thread([this, behave, connections, released = release_.get_future().share()] {
            for (int i = 0; i < connections; ++i) {
                pollfd pfd{listener_.get(), POLLIN, 0};
                if (::poll(&pfd, 1, 10000) != 1) {
                    return;
                }
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

// Reads until the peer closes (or 5 s pass), for a server that lets the client go first.
void drain_until_closed(int fd)
{
    const auto deadline = Clock::now() + 5s;
    char buffer[4096];
    while (Clock::now() < deadline) {
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, 100) == 1 && ::recv(fd, buffer, sizeof buffer, 0) <= 0) {
            return;
        }
    }
}

// What a measuring run printed, line by line.
struct Measured {
    struct Reply {
        std::size_t bytes;
        std::string from;  // "ADDRESS port PORT"
        int seq;
        double connect_ms;  // -1 without -N
        double time_ms;
    };
    std::string header;
    std::vector<Reply> replies;
    std::vector<std::string> failures;  // each failed line, whole
    std::string statistics_of;          // from "--- ... echo statistics ---"
    long total = -1;
    long ok = -1;
    long failed = -1;
    std::vector<double> rtt;      // min, avg, max, mdev
    std::vector<double> connect;  // the same, with -N
    std::vector<std::string> other;
};

Measured parse_measured(const std::string& out)
{
    static const std::regex reply(
        R"(^(\d+) bytes from (\S+ port \d+): seq=(\d+)(?: connect=([0-9.]+) ms)? time=([0-9.]+) ms$)");
    static const std::regex failure(R"(^(?:from \S+ port \d+: )?seq=\d+(?: connect=[0-9.]+ ms)? failed: .+$)");
    static const std::regex statistics(R"(^--- (.+) echo statistics ---$)");
    static const std::regex totals(R"(^(\d+) round trips?, (\d+) ok, (\d+) failed$)");
    static const std::regex figures(R"(^(rtt|connect) min/avg/max/mdev = ([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+) ms$)");
    Measured measured;
    std::istringstream lines(out);
    std::string line;
    std::smatch m;
    while (std::getline(lines, line)) {
        if (line.rfind("ECHO ", 0) == 0 && measured.header.empty()) {
            measured.header = line;
        } else if (std::regex_match(line, m, reply)) {
            measured.replies.push_back({std::stoul(m[1]), m[2], std::stoi(m[3]),
                                        m[4].matched ? std::stod(m[4]) : -1.0, std::stod(m[5])});
        } else if (std::regex_match(line, failure)) {
            measured.failures.push_back(line);
        } else if (std::regex_match(line, m, statistics)) {
            measured.statistics_of = m[1];
        } else if (std::regex_match(line, m, totals)) {
            measured.total = std::stol(m[1]);
            measured.ok = std::stol(m[2]);
            measured.failed = std::stol(m[3]);
        } else if (std::regex_match(line, m, figures)) {
            std::vector<double> values;
            for (std::size_t i = 2; i <= 5; ++i) {
                values.push_back(std::stod(m[i].str()));
            }
            (m[1].str() == "rtt" ? measured.rtt : measured.connect) = std::move(values);
        } else if (!line.empty()) {
            measured.other.push_back(line);
        }
    }
    return measured;
}

// min <= avg <= max, mdev within [0, max - min]; the figures are rounded to 0.001 ms.
void check_figures(const std::vector<double>& figures, const std::string& what)
{
    BOOST_TEST_REQUIRE(figures.size() == 4u, what);
    BOOST_TEST(figures[0] <= figures[1] + 0.001, what);
    BOOST_TEST(figures[1] <= figures[2] + 0.001, what);
    BOOST_TEST(figures[3] >= 0.0, what);
    BOOST_TEST(figures[3] <= figures[2] - figures[0] + 0.001, what);
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

BOOST_AUTO_TEST_CASE(client_prints_its_version_and_help)
{
    const CommandResult echod_version = run_command({echod_path(), "--version"});
    BOOST_TEST_REQUIRE(echod_version.out.rfind("echod ", 0) == 0u, echod_version.out);
    for (const char* option : {"--version", "-V"}) {
        const CommandResult version = run_command({client_path(), option});
        BOOST_TEST(version.status == 0);
        BOOST_TEST(version.out == "echod-client " + echod_version.out.substr(6));  // one project version
        BOOST_TEST(version.err.empty());
    }
    for (const char* option : {"--help", "-h"}) {
        const CommandResult help = run_command({client_path(), option});
        BOOST_TEST(help.status == 0);
        BOOST_TEST(help.out.rfind("Usage: echod-client ", 0) == 0u, help.out);
        for (const char* documented : {"-4, --ipv4", "-6, --ipv6", "-t, --timeout=SECONDS", "-n, --count=COUNT",
                                       "-s, --size=SIZE", "-i, --interval=SECONDS", "-N, --new-connection",
                                       "-h, --help", "-V, --version", "Exit status:"}) {
            BOOST_TEST(help.out.find(documented) != std::string::npos, documented);
        }
        // Each option --help lists has its entry in the man page, and no other.
        static const std::regex listed(R"(\n  -(\w), --([0-9a-z-]+))");
        std::set<std::string> in_help;
        for (std::sregex_iterator it(help.out.begin(), help.out.end(), listed), end; it != end; ++it) {
            in_help.insert(std::string(".BR \\-") + (*it)[1].str() + " \", \" \\-\\-" +
                           std::regex_replace((*it)[2].str(), std::regex("-"), "\\-"));
        }
        std::ifstream page(ECHOD_SOURCE_DIR "/man/echod-client.1");
        std::set<std::string> in_man;
        for (std::string line; std::getline(page, line);) {
            if (line.rfind(".BR \\-", 0) == 0 && line.find(" \", \" \\-\\-") != std::string::npos) {
                in_man.insert(line.substr(0, line.find(' ', line.find("\\-\\-"))));
            }
        }
        BOOST_TEST(in_help.size() == 9u);
        BOOST_TEST(in_help == in_man, boost::algorithm::join(in_help, " | ") << " against " << boost::algorithm::join(in_man, " | "));
        const std::string ending = "\nSee echod-client(1).\n";
        BOOST_TEST(help.out.size() > ending.size());
        BOOST_TEST(help.out.compare(help.out.size() - ending.size(), ending.size(), ending) == 0);
    }
}

BOOST_AUTO_TEST_CASE(client_ipv4_only_and_ipv6_only)
{
    Echod both("address = 127.0.0.1\naddress = ::1\n");
    const std::string port = std::to_string(both.port);
    const CommandResult v4_name = run_command({client_path(), "-4", "-n", "1", "localhost", port});
    BOOST_TEST(v4_name.status == 0, v4_name.err);
    BOOST_TEST(v4_name.out.find("bytes from 127.0.0.1 port " + port + ": seq=1 ") != std::string::npos, v4_name.out);
    const CommandResult v6_address = run_command({client_path(), "--ipv6", "-n1", "[::1]", port});
    BOOST_TEST(v6_address.status == 0, v6_address.err);
    BOOST_TEST(v6_address.out.find("bytes from ::1 port " + port + ": seq=1 ") != std::string::npos, v6_address.out);
    const CommandResult v4_echo = run_command({client_path(), "-4", "127.0.0.1", port, "four"});
    BOOST_TEST(v4_echo.status == 0, v4_echo.err);
    BOOST_TEST(v4_echo.out == "four\n");
    const CommandResult v6_echo = run_command({client_path(), "-6", "::1", port, "six"});
    BOOST_TEST(v6_echo.status == 0, v6_echo.err);
    BOOST_TEST(v6_echo.out == "six\n");

    // An address of the other family can never connect: a usage error naming both.
    const std::vector<std::pair<std::vector<std::string>, std::string>> usage_errors{
        {{"-4", "::1"}, "-4 (IPv4 only) and the IPv6 address '::1' exclude each other"},
        {{"-4", "[::1]"}, "-4 (IPv4 only) and the IPv6 address '::1' exclude each other"},
        {{"-6", "127.0.0.1"}, "-6 (IPv6 only) and the IPv4 address '127.0.0.1' exclude each other"},
        {{"-4", "-6", "localhost"}, "-4 and -6 exclude each other"},
        {{"-64", "localhost"}, "-4 and -6 exclude each other"},
    };
    for (const auto& [args, message] : usage_errors) {
        std::vector<std::string> argv{client_path()};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.insert(argv.end(), {port, "x"});
        const CommandResult run = run_command(argv);
        BOOST_TEST(run.status == 64, message);
        BOOST_TEST(run.err.find("echod-client: " + message + "\n") != std::string::npos, run.err);
        BOOST_TEST(run.out.empty());
    }

    // A name, held to one family: never the other one's address.
    Echod v4_only("address = 127.0.0.1\n");
    const CommandResult no_v6 = run_command({client_path(), "-6", "localhost", std::to_string(v4_only.port), "x"});
    BOOST_TEST(no_v6.status == 69, no_v6.err);  // localhost has no IPv6 address here, or ::1 refuses
    BOOST_TEST((no_v6.err.find("cannot resolve localhost (IPv6 only)") != std::string::npos ||
                no_v6.err.find("Connection refused") != std::string::npos),
               no_v6.err);
    Echod v6_only("address = ::1\n");
    const CommandResult no_v4 = run_command({client_path(), "-4", "localhost", std::to_string(v6_only.port), "x"});
    BOOST_TEST(no_v4.status == 69, no_v4.err);
    BOOST_TEST(no_v4.err.find("Connection refused") != std::string::npos, no_v4.err);
}

BOOST_AUTO_TEST_CASE(client_measures_round_trips_on_one_connection)
{
    Echod echod("");
    const std::string port = std::to_string(echod.port);
    const CommandResult run = run_command({client_path(), "-n", "5", "-i", "0", "-s", "1000", "127.0.0.1", port});
    BOOST_TEST(run.status == 0, run.err);
    BOOST_TEST(run.err.empty(), run.err);
    const Measured measured = parse_measured(run.out);
    BOOST_TEST(measured.header.rfind("ECHO 127.0.0.1 port " + port + ": 1000 bytes, one connection to 127.0.0.1 (connect=", 0) == 0u,
               measured.header);
    BOOST_TEST_REQUIRE(measured.replies.size() == 5u, run.out);
    for (std::size_t i = 0; i < measured.replies.size(); ++i) {
        BOOST_TEST(measured.replies[i].bytes == 1000u);
        BOOST_TEST(measured.replies[i].from == "127.0.0.1 port " + port);
        BOOST_TEST(measured.replies[i].seq == static_cast<int>(i + 1));
        BOOST_TEST(measured.replies[i].connect_ms == -1.0);
        BOOST_TEST(measured.replies[i].time_ms >= 0.0);
    }
    BOOST_TEST(measured.failures.empty());
    BOOST_TEST(measured.other.empty(), run.out);
    BOOST_TEST(measured.statistics_of == "127.0.0.1 port " + port);
    BOOST_TEST(measured.total == 5);
    BOOST_TEST(measured.ok == 5);
    BOOST_TEST(measured.failed == 0);
    check_figures(measured.rtt, "rtt");
    BOOST_TEST(measured.connect.empty());
    const auto fastest = std::min_element(measured.replies.begin(), measured.replies.end(),
                                          [](const auto& a, const auto& b) { return a.time_ms < b.time_ms; });
    BOOST_TEST(measured.rtt[0] == fastest->time_ms);
    // One connection carried all five round trips, and nothing more.
    echod.daemon.wait_for("msg=\"connection closed\" .* bytes_in=5000 bytes_out=5000 ");
    BOOST_TEST(echod.daemon.count("connection closed") == 1u, echod.daemon.log());
}

BOOST_AUTO_TEST_CASE(client_measures_round_trips_on_new_connections)
{
    Echod echod("address = ::1\n");
    const std::string port = std::to_string(echod.port);
    const CommandResult by_address =
        run_command({client_path(), "-N", "--count=3", "--interval", "0", "-s70000", "::1", port});
    BOOST_TEST(by_address.status == 0, by_address.err);
    const Measured measured = parse_measured(by_address.out);
    BOOST_TEST(measured.header.find("70000 bytes, a new connection for each round trip") != std::string::npos,
               measured.header);
    BOOST_TEST_REQUIRE(measured.replies.size() == 3u, by_address.out);
    for (const Measured::Reply& reply : measured.replies) {
        BOOST_TEST(reply.bytes == 70000u);
        BOOST_TEST(reply.from == "::1 port " + port);
        BOOST_TEST(reply.connect_ms >= 0.0);
    }
    BOOST_TEST(measured.total == 3);
    BOOST_TEST(measured.ok == 3);
    BOOST_TEST(measured.failed == 0);
    check_figures(measured.rtt, "rtt");
    check_figures(measured.connect, "connect");
    echod.daemon.wait_count("msg=\"connection closed\" .* bytes_in=70000 bytes_out=70000 ", 3);
}

// On one connection, a failed round trip is counted, and the next opens a new connection:
// what the old one still owed would otherwise be taken for the next echo.
BOOST_AUTO_TEST_CASE(client_measuring_counts_a_wrong_echo_and_goes_on_on_a_new_connection)
{
    int connection = 0;
    FakeServer server(
        [&connection](int fd, const std::shared_future<void>&) {
            std::string got = read_some(fd);  // one segment: 16 bytes on loopback
            if (++connection == 1) {
                got[5] = static_cast<char>(got[5] ^ 0x20);
            }
            send_all(fd, got);
            drain_until_closed(fd);
        },
        2);
    const CommandResult run = run_command({client_path(), "-n", "2", "-i", "0", "-s", "16", "127.0.0.1", server.port()});
    BOOST_TEST(run.status == 1, run.err);
    const Measured measured = parse_measured(run.out);
    BOOST_TEST_REQUIRE(measured.failures.size() == 1u, run.out);
    BOOST_TEST(measured.failures[0] == "from 127.0.0.1 port " + server.port() +
                                           ": seq=1 failed: the reply differs at byte 5");
    BOOST_TEST_REQUIRE(measured.replies.size() == 1u, run.out);
    BOOST_TEST(measured.replies[0].seq == 2);
    BOOST_TEST(measured.total == 2);
    BOOST_TEST(measured.ok == 1);
    BOOST_TEST(measured.failed == 1);
    check_figures(measured.rtt, "rtt");
}

// A connection ends with the server's close and nothing more: bytes beyond the echo fail the
// round trip they follow, with -N on every connection, and on the one connection after the
// last round trip (before, with nothing read after the echo, they went unnoticed).
BOOST_AUTO_TEST_CASE(client_measuring_fails_a_reply_longer_than_the_echo)
{
    auto too_long = [](int fd, const std::shared_future<void>&) {
        send_all(fd, read_some(fd) + "EXTRA");  // one segment: 10 bytes on loopback
        drain_until_closed(fd);
    };
    FakeServer each(too_long, 2);
    const CommandResult new_each =
        run_command({client_path(), "-N", "-n", "2", "-i", "0", "-s", "10", "127.0.0.1", each.port()});
    BOOST_TEST(new_each.status == 1, new_each.out);
    for (const char* seq : {": seq=1 connect=", ": seq=2 connect="}) {
        const std::size_t at = new_each.out.find(seq);
        BOOST_TEST_REQUIRE(at != std::string::npos, new_each.out);
        BOOST_TEST(new_each.out.find(" ms failed: 5 bytes more than the echo\n", at) ==
                       new_each.out.find('\n', at) - std::string(" ms failed: 5 bytes more than the echo").size(),
                   new_each.out);
    }
    BOOST_TEST(new_each.out.find("\n2 round trips, 0 ok, 2 failed\n") != std::string::npos, new_each.out);

    FakeServer one(too_long);
    const CommandResult last = run_command({client_path(), "-n", "1", "-s", "10", "127.0.0.1", one.port()});
    BOOST_TEST(last.status == 1, last.out);
    BOOST_TEST(last.out.find(": seq=1 failed: 5 bytes more than the echo\n") != std::string::npos, last.out);
}

BOOST_AUTO_TEST_CASE(client_measuring_counts_an_early_close_a_silent_server_and_refused_connects)
{
    FakeServer closes([](int fd, const std::shared_future<void>&) {
        const std::string got = read_some(fd);
        ::send(fd, got.data(), 8, MSG_NOSIGNAL);  // half of it, then the close
    });
    const CommandResult early = run_command({client_path(), "-n", "1", "-s", "16", "127.0.0.1", closes.port()});
    BOOST_TEST(early.status == 1, early.err);
    const Measured closed = parse_measured(early.out);
    BOOST_TEST_REQUIRE(closed.failures.size() == 1u, early.out);
    BOOST_TEST(closed.failures[0] == "from 127.0.0.1 port " + closes.port() +
                                         ": seq=1 failed: the server closed the connection after 8 of 16 bytes");
    BOOST_TEST(closed.total == 1);
    BOOST_TEST(closed.ok == 0);
    BOOST_TEST(closed.failed == 1);
    BOOST_TEST(closed.rtt.empty());  // no round trip to time

    FakeServer silent([](int fd, const std::shared_future<void>& released) {
        read_some(fd);
        released.wait_for(10s);
    });
    const auto start = Clock::now();
    const CommandResult late = run_command({client_path(), "-n", "1", "-t", "1", "127.0.0.1", silent.port()});
    BOOST_TEST(late.status == 1, late.err);
    BOOST_TEST(late.out.find(": seq=1 failed: no full echo within 1000 ms (0 of 256 bytes back)\n") != std::string::npos,
               late.out);
    BOOST_TEST((Clock::now() - start < 5s));

    // -N: a refused connection is one failed round trip (1); without -N it is 69.
    const std::string nobody = std::to_string(free_port());
    const CommandResult refused_each = run_command({client_path(), "-N", "-n", "2", "-i", "0", "127.0.0.1", nobody});
    BOOST_TEST(refused_each.status == 1, refused_each.err);
    const Measured refused = parse_measured(refused_each.out);
    BOOST_TEST_REQUIRE(refused.failures.size() == 2u, refused_each.out);
    BOOST_TEST(refused.failures[1] == "seq=2 failed: cannot connect to 127.0.0.1 port " + nobody + ": Connection refused");
    BOOST_TEST(refused.failed == 2);
    const CommandResult refused_once = run_command({client_path(), "-n", "2", "127.0.0.1", nobody});
    BOOST_TEST(refused_once.status == 69);
    BOOST_TEST(refused_once.err.find("cannot connect to 127.0.0.1 port " + nobody + ": Connection refused") !=
                   std::string::npos,
               refused_once.err);
    const CommandResult unresolved = run_command({client_path(), "-N", "-n", "2", "no-such-host.invalid", nobody});
    BOOST_TEST(unresolved.status == 69);
    BOOST_TEST(unresolved.err.find("cannot resolve no-such-host.invalid") != std::string::npos, unresolved.err);
}

// Round trips start INTERVAL apart: 4 of them at 0.3 s take at least 0.9 s.
BOOST_AUTO_TEST_CASE(client_measuring_waits_the_interval)
{
    Echod echod("");
    const auto start = Clock::now();
    const CommandResult run = run_command({client_path(), "-n", "4", "-i", "0.3", "127.0.0.1", std::to_string(echod.port)});
    const auto took = Clock::now() - start;
    BOOST_TEST(run.status == 0, run.err);
    BOOST_TEST(parse_measured(run.out).ok == 4);
    BOOST_TEST((took >= 900ms));
    BOOST_TEST((took < 5s));
}

BOOST_AUTO_TEST_CASE(client_measuring_options_are_checked)
{
    const std::vector<std::pair<std::vector<std::string>, std::string>> usage_errors{
        {{"-n", "0"}, "-n wants a count from 1 to 1000000000, not '0'"},
        {{"-n", "-1"}, "-n wants a count from 1 to 1000000000, not '-1'"},
        {{"-n", "2", "-s", "0"}, "-s wants a size in bytes from 1 to 16777216, not '0'"},
        {{"-n", "2", "-s", "16777217"}, "-s wants a size in bytes from 1 to 16777216, not '16777217'"},
        {{"-n", "2", "-i", "1e3"}, "-i wants seconds from 0 to 86400 (decimals allowed: 0.2), not '1e3'"},
        {{"-n", "2", "-i", "."}, "-i wants seconds from 0 to 86400 (decimals allowed: 0.2), not '.'"},
        {{"-n", "2", "-i", "86400.5"}, "-i wants seconds from 0 to 86400 (decimals allowed: 0.2), not '86400.5'"},
        {{"-s", "64"}, "-s is for measuring mode: give -n COUNT too"},
        {{"-N"}, "-N is for measuring mode: give -n COUNT too"},
        {{"--count"}, "option '--count' needs a value"},
        {{"--coun=2"}, "unknown option '--coun'"},
        {{"--ipv4=yes"}, "option '--ipv4' takes no value"},
        {{"-x"}, "unknown option '-x'"},
    };
    for (const auto& [args, message] : usage_errors) {
        std::vector<std::string> argv{client_path()};
        argv.insert(argv.end(), args.begin(), args.end());
        if (args != std::vector<std::string>{"--count"}) {
            argv.insert(argv.end(), {"127.0.0.1", "7"});
        }
        const CommandResult run = run_command(argv);
        BOOST_TEST(run.status == 64, message);
        BOOST_TEST(run.err.rfind("echod-client: " + message + "\nUsage: echod-client ", 0) == 0u, run.err);
        BOOST_TEST(run.out.empty());
    }
    const CommandResult with_message = run_command({client_path(), "-n", "2", "127.0.0.1", "7", "hello"});
    BOOST_TEST(with_message.status == 64);
    BOOST_TEST(with_message.err.find("-n sends SIZE bytes of its own: no MESSAGE ('hello')") != std::string::npos,
               with_message.err);
    // After HOST, words are the message, even those that look like options.
    Echod echod("");
    const CommandResult dashes = run_command({client_path(), "127.0.0.1", std::to_string(echod.port), "-n", "3"});
    BOOST_TEST(dashes.status == 0, dashes.err);
    BOOST_TEST(dashes.out == "-n 3\n");
}

// Ctrl-C ends a measuring run as it ends ping: the summary of the round trips done, exit 0
// if they all succeeded.
BOOST_AUTO_TEST_CASE(client_measuring_ends_with_its_summary_on_sigint)
{
    Echod echod("");
    const std::string port = std::to_string(echod.port);
    // Its standard output into the collected stream, to watch the lines as they come.
    Daemon client(Program{{"sh", "-c", "exec \"$0\" \"$@\" >&2", client_path(), "-n", "1000", "-i", "0.05",
                           "127.0.0.1", port}});
    client.wait_for("^256 bytes from 127\\.0\\.0\\.1 port " + port + ": seq=3 time=");
    client.signal(SIGINT);
    BOOST_TEST(client.wait_exit(5s) == 0, client.log());
    const Measured measured = parse_measured(client.log());
    BOOST_TEST(measured.statistics_of == "127.0.0.1 port " + port);
    BOOST_TEST(measured.total >= 3);
    BOOST_TEST(measured.total < 1000);
    BOOST_TEST(measured.ok == measured.total);
    BOOST_TEST(static_cast<long>(measured.replies.size()) == measured.total);
    check_figures(measured.rtt, "rtt");
}
