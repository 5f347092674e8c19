// The scale-out deployment of docs/scale-out.md, on loopback: three echod instances with
// proxy_protocol = v2 and proxy_trusted = 127.0.0.1 behind the real HAProxy, which runs
// examples/haproxy/haproxy.cfg itself (with a global section of the test's own, its bind
// address, its servers and shorter check intervals). Clients bind 127.0.0.2 ... 127.0.0.9;
// HAProxy connects from 127.0.0.1. HAProxy's view (UP, DOWN, sessions, redispatches) is
// read from its stats socket. Needs no root; needs haproxy in PATH (Debian's package),
// and without it exits 77, which ctest reports as skipped.
#define BOOST_TEST_MODULE haproxy
#define BOOST_TEST_NO_MAIN
#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <system_error>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {

const std::string example_config = ECHOD_SOURCE_DIR "/examples/haproxy/haproxy.cfg";
constexpr std::size_t instance_count = 3;
const std::string balancer = "127.0.0.1";

bool executable_in_path(const std::string& name)
{
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path != nullptr ? path : "");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) {
            return true;
        }
    }
    return false;
}

std::string read_text(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    BOOST_TEST_REQUIRE(static_cast<bool>(in), "cannot read " << path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// The example's sections from `defaults` on, with the test's bind line, servers and check
// intervals, behind a global section that keeps HAProxy in the foreground (-db), logging
// to stderr, with its stats socket in the test's directory. Every replacement must find
// what it replaces: an edit to the example that this misses fails here, loudly.
std::string test_config(const std::string& stats_socket, std::uint16_t port,
                        const std::vector<std::uint16_t>& servers)
{
    const std::string example = read_text(example_config);
    const auto defaults = example.find("\ndefaults\n");
    BOOST_TEST_REQUIRE(defaults != std::string::npos, example_config << " has no defaults section");
    std::ostringstream out;
    out << "global\n    stats socket " << stats_socket << " level admin\n"
        << "    log stderr format raw local0 info\n";
    std::istringstream lines(example.substr(defaults));
    int binds = 0;
    int server_lines = 0;
    int intervals = 0;
    const std::regex inter(R"((\s)inter \S+ fastinter \S+)");
    for (std::string line; std::getline(lines, line);) {
        const std::string word = line.substr(0, line.find_first_of(" \t", 4));
        if (word == "    bind") {
            if (binds++ == 0) {
                out << "    bind " << balancer << ":" << port << "\n";
            }
        } else if (word == "    server") {
            if (server_lines++ == 0) {
                for (std::size_t i = 0; i < servers.size(); ++i) {
                    out << "    server echod" << i + 1 << " 127.0.0.1:" << servers[i] << "\n";
                }
            }
        } else if (word == "    default-server") {
            intervals += std::regex_search(line, inter) ? 1 : 0;
            out << std::regex_replace(line, inter, "$1inter 100ms fastinter 50ms") << "\n";
        } else {
            out << line << "\n";
        }
    }
    BOOST_TEST_REQUIRE(binds >= 1, "no bind line in " << example_config);
    BOOST_TEST_REQUIRE(server_lines >= 1, "no server line in " << example_config);
    BOOST_TEST_REQUIRE(intervals == 1, "no 'inter ... fastinter ...' on default-server in "
                                           << example_config);
    return out.str();
}

// One command on HAProxy's stats socket and its whole answer; nothing if the socket does
// not take connections (yet).
std::optional<std::string> stats_command(const std::string& socket_path, const std::string& command)
{
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    socket_path.copy(address.sun_path, sizeof address.sun_path - 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        return std::nullopt;
    }
    const std::string line = command + "\n";
    BOOST_TEST_REQUIRE(::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) ==
                       static_cast<ssize_t>(line.size()));
    // HAProxy answers and closes (the socket is not in interactive mode).
    std::string answer;
    const auto deadline = Clock::now() + 5s;
    char buffer[65536];
    for (;;) {
        pollfd pfd{fd.get(), POLLIN, 0};
        BOOST_TEST_REQUIRE((Clock::now() < deadline), "no end to the answer to " << command);
        if (::poll(&pfd, 1, 100) != 1) {
            continue;
        }
        const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
        if (n <= 0) {
            return answer;
        }
        answer.append(buffer, static_cast<std::size_t>(n));
    }
}

// `show stat` for the servers of backend "echod": server name → column → value.
using Row = std::map<std::string, std::string>;
using ServerStats = std::map<std::string, Row>;

std::optional<ServerStats> server_stats(const std::string& socket_path)
{
    const std::optional<std::string> csv = stats_command(socket_path, "show stat");
    if (!csv) {
        return std::nullopt;
    }
    std::istringstream lines(*csv);
    std::string header;
    std::getline(lines, header);
    BOOST_TEST_REQUIRE(header.rfind("# ", 0) == 0, "show stat answered: " << *csv);
    std::vector<std::string> columns;
    std::istringstream names(header.substr(2));
    for (std::string name; std::getline(names, name, ',');) {
        columns.push_back(name);
    }
    ServerStats servers;
    for (std::string line; std::getline(lines, line);) {
        Row row;
        std::istringstream fields(line);
        std::string field;
        for (std::size_t i = 0; i < columns.size() && std::getline(fields, field, ','); ++i) {
            row[columns[i]] = field;
        }
        if (row["pxname"] == "echod" && row["svname"] != "BACKEND") {
            servers[row["svname"]] = row;
        }
    }
    return servers;
}

std::string describe(const ServerStats& servers)
{
    std::ostringstream out;
    for (const auto& [name, row] : servers) {
        out << " " << name << ": " << row.at("status") << " " << row.at("check_status")
            << " scur=" << row.at("scur") << " stot=" << row.at("stot")
            << " chkfail=" << row.at("chkfail") << " chkdown=" << row.at("chkdown")
            << " wredis=" << row.at("wredis") << ";";
    }
    return out.str();
}

// The result of the last check ("* " in front while the next one runs).
std::string check_status(const Row& row)
{
    const std::string& status = row.at("check_status");
    return status.rfind("* ", 0) == 0 ? status.substr(2) : status;
}

long number(const Row& row, const std::string& column)
{
    const std::string& value = row.at(column);
    return value.empty() ? 0 : std::stol(value);
}

sockaddr_in ipv4(const std::string& address, std::uint16_t port)
{
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    ::inet_pton(AF_INET, address.c_str(), &in.sin_addr);
    return in;
}

// Sends without asserting: the peer may already have closed (a refused client).
void send_regardless(int fd, const std::string& data)
{
    [[maybe_unused]] const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
}

std::string error_text(const char* call)
{
    return std::string(call) + ": " + std::system_category().message(errno);
}

// One short client through `port` from `source`: sends `message`, shuts down its sending
// side and reads until the close. Returns what went wrong, or "" when exactly the message
// came back. It asserts nothing, so client threads can run it; every call it makes is
// bounded by a 5 s socket timeout.
std::string echo_client(const std::string& source, std::uint16_t port, const std::string& message)
{
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const timeval timeout{5, 0};
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    const sockaddr_in local = ipv4(source, 0);
    const sockaddr_in remote = ipv4(balancer, port);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
        return error_text("bind");
    }
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&remote), sizeof remote) != 0) {
        return error_text("connect");
    }
    if (::send(fd.get(), message.data(), message.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(message.size())) {
        return error_text("send");
    }
    ::shutdown(fd.get(), SHUT_WR);
    std::string echoed;
    char buffer[512];
    while (echoed.size() <= message.size()) {
        const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
        if (n == 0) {
            break;
        }
        if (n < 0) {
            return error_text("recv") + " after " + std::to_string(echoed.size()) + " bytes";
        }
        echoed.append(buffer, static_cast<std::size_t>(n));
    }
    if (echoed != message) {
        return "echoed " + std::to_string(echoed.size()) + " of " +
               std::to_string(message.size()) + " bytes: '" + echoed + "'";
    }
    return "";
}

struct LoopResult {
    std::size_t served = 0;
    std::vector<std::string> failures;
};

// `total` short clients through `port`, `parallel` at a time (threads), from 127.0.0.2 ...
// 127.0.0.9 in turn. Once `trigger` of them have finished, `event` runs in this thread
// while the rest go on. No client starts after 60 s.
LoopResult client_loop(std::uint16_t port, std::size_t total, std::size_t parallel,
                       std::size_t trigger, const std::function<void()>& event)
{
    std::mutex mutex;
    std::condition_variable changed;
    LoopResult result;
    std::size_t next = 0;
    std::size_t finished = 0;
    bool stop = false;
    const auto deadline = Clock::now() + 60s;
    auto client = [&] {
        for (;;) {
            std::size_t i = 0;
            {
                std::lock_guard<std::mutex> lock(mutex);
                if (stop || next == total || Clock::now() >= deadline) {
                    return;
                }
                i = next++;
            }
            const std::string source = "127.0.0." + std::to_string(2 + i % 8);
            const std::string error =
                echo_client(source, port, "client " + std::to_string(i) + " from " + source + "\n");
            std::lock_guard<std::mutex> lock(mutex);
            ++finished;
            if (error.empty()) {
                ++result.served;
            } else {
                result.failures.push_back("client " + std::to_string(i) + " from " + source +
                                          ": " + error);
            }
            changed.notify_all();
        }
    };
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < parallel; ++i) {
        threads.emplace_back(client);
    }
    auto join = [&] {
        for (std::thread& thread : threads) {
            thread.join();
        }
    };
    try {
        std::unique_lock<std::mutex> lock(mutex);
        const bool reached =
            changed.wait_until(lock, deadline, [&] { return finished >= trigger; });
        lock.unlock();
        BOOST_TEST_REQUIRE(reached, "only " << finished << " of " << trigger << " clients in time");
        event();
    } catch (...) {
        {
            std::lock_guard<std::mutex> lock(mutex);
            stop = true;
        }
        join();
        throw;
    }
    join();
    BOOST_TEST(result.served + result.failures.size() == total);
    return result;
}

// The first failures of a loop, and the logs that tell what happened to them (HAProxy's
// has one line per session: its server, retries and termination state).
std::string loop_report(const LoopResult& loop, const Daemon& haproxy,
                        const Daemon* stopped = nullptr)
{
    std::string text = std::to_string(loop.failures.size()) + " clients failed:";
    for (std::size_t i = 0; i < loop.failures.size() && i < 10; ++i) {
        text += "\n  " + loop.failures[i];
    }
    text += "\nHAProxy's log:\n" + haproxy.log();
    if (stopped != nullptr) {
        text += "\nThe stopped instance's log:\n" + stopped->log();
    }
    return text;
}

// Three echod instances (`settings` each, the first one with `first_settings` as well)
// and HAProxy in front of them, all UP.
class Cluster {
public:
    explicit Cluster(const std::string& settings = "", const std::string& first_settings = "")
    {
        for (std::size_t i = 0; i < instance_count; ++i) {
            echods.push_back(std::make_unique<Echod>(
                "proxy_protocol = v2\nproxy_trusted = " + balancer + "\n" + settings +
                (i == 0 ? first_settings : "")));
        }
        start_haproxy();
        wait_servers("every server UP, checked", [](const ServerStats& servers) {
            std::size_t up = 0;
            for (const auto& [name, row] : servers) {
                up += row.at("status") == "UP" && check_status(row) == "L7OK" ? 1 : 0;
            }
            return up == instance_count;
        });
    }

    ServerStats servers() const
    {
        std::optional<ServerStats> servers = server_stats(stats_socket);
        BOOST_TEST_REQUIRE(servers.has_value(), "HAProxy's stats socket does not answer");
        return *servers;
    }

    // Polls the stats socket (every 20 ms, at most `timeout`) until `done` holds.
    void wait_servers(const std::string& what, const std::function<bool(const ServerStats&)>& done,
                      std::chrono::milliseconds timeout = 10s) const
    {
        const auto deadline = Clock::now() + timeout;
        ServerStats last;
        while (Clock::now() < deadline) {
            if (std::optional<ServerStats> servers = server_stats(stats_socket)) {
                if (done(*servers)) {
                    return;
                }
                last = *servers;
            }
            std::this_thread::sleep_for(20ms);
        }
        BOOST_FAIL("HAProxy: not " << what << " in time:" << describe(last) << "\nHAProxy's log:\n"
                                   << haproxy->log());
    }

    // The instance HAProxy sends server `name` (echod1 ...) to.
    Echod& instance(const std::string& name) const
    {
        return *echods.at(std::stoul(name.substr(5)) - 1);
    }

    std::vector<std::unique_ptr<Echod>> echods;
    TempDir dir;
    std::string stats_socket;
    std::uint16_t port = 0;
    std::unique_ptr<Daemon> haproxy;  // declared last: it stops first

private:
    // The frontend port is one that was free a moment ago; if another process takes it
    // first, HAProxy exits, and the start is tried again with another (3 times at most).
    void start_haproxy()
    {
        std::vector<std::uint16_t> ports;
        for (const auto& echod : echods) {
            ports.push_back(echod->port);
        }
        std::string failed;
        for (int attempt = 1; attempt <= 3; ++attempt) {
            stats_socket = dir.path() + "/admin" + std::to_string(attempt) + ".sock";
            port = free_port();
            const std::string config =
                dir.write("haproxy.cfg", test_config(stats_socket, port, ports));
            haproxy = std::make_unique<Daemon>(Program{{"haproxy", "-db", "-f", config}});
            const auto deadline = Clock::now() + 10s;
            while (!stats_command(stats_socket, "show info") && haproxy->wait_exit(0ms) < 0 &&
                   Clock::now() < deadline) {
                std::this_thread::sleep_for(20ms);
            }
            if (stats_command(stats_socket, "show info")) {
                return;
            }
            failed += "attempt " + std::to_string(attempt) + ":\n" + haproxy->log();
            haproxy.reset();
        }
        BOOST_FAIL("haproxy did not start; its log:\n" << failed);
    }
};

const std::string closed_line = R"(info: msg="connection closed" peer=)";

// The per-connection line of a client that came through the balancer.
std::string closed_through_balancer(const std::string& client, std::uint16_t client_port)
{
    const std::string address = std::regex_replace(client, std::regex(R"(\.)"), R"(\.)");
    return "info: msg=\"connection closed\" peer=" + address + ":" + std::to_string(client_port) +
           R"( via=127\.0\.0\.1:\d+ pid=\d+ )";
}

// A line at info or above that names the balancer as the peer (checks, or a real client
// taken for the balancer).
const std::string balancer_as_peer = R"((info|notice|warning|error): .*peer=127\.0\.0\.1:)";

}  // namespace

BOOST_AUTO_TEST_CASE(the_example_config_is_valid_as_shipped)
{
    const CommandResult check = run_command({"haproxy", "-c", "-f", example_config});
    BOOST_TEST(check.status == 0, check.out << check.err);
    BOOST_TEST(check.out.find("Configuration file is valid") != std::string::npos, check.out);
}

BOOST_AUTO_TEST_CASE(a_16_mib_payload_through_the_balancer_comes_back_identical)
{
    Cluster cluster;
    std::string payload(16 << 20, '\0');
    std::uint32_t state = 2463534242u;  // xorshift: no period a misordered block could hide in
    for (char& byte : payload) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        byte = static_cast<char>(state);
    }
    UniqueFd client = connect_tcp(balancer, cluster.port, "127.0.0.2");
    const std::uint16_t client_port = local_port(client.get());
    const std::string echoed = echo_full_duplex(client.get(), payload, 60s);
    BOOST_TEST(echoed.size() == payload.size());
    BOOST_TEST((echoed == payload), "the echo differs from the payload");
    // The instance serving it is the one with a session open now.
    std::string serving;
    for (const auto& [name, row] : cluster.servers()) {
        serving = number(row, "scur") == 1 ? name : serving;
    }
    BOOST_TEST_REQUIRE(!serving.empty(), describe(cluster.servers()));
    ::shutdown(client.get(), SHUT_WR);
    BOOST_TEST(wait_closed(client.get()));
    cluster.instance(serving).daemon.wait_for(closed_through_balancer("127.0.0.2", client_port) +
                                              "bytes_in=16777216 bytes_out=16777216 "
                                              R"(duration_ms=\d+ reason=eof$)");
}

BOOST_AUTO_TEST_CASE(each_instance_logs_the_real_client_never_the_balancer)
{
    Cluster cluster;
    std::vector<std::string> expected;
    for (int round = 0; round < 3; ++round) {
        for (int host = 2; host <= 9; ++host) {
            const std::string client = "127.0.0." + std::to_string(host);
            UniqueFd fd = connect_tcp(balancer, cluster.port, client);
            expect_echo(fd.get(), "from " + client);
            ::shutdown(fd.get(), SHUT_WR);
            BOOST_TEST_REQUIRE(wait_closed(fd.get()));
            expected.push_back(closed_through_balancer(client, local_port(fd.get())));
        }
    }
    // HAProxy's count of the sessions each server took, against each instance's log.
    const ServerStats servers = cluster.servers();
    long sessions = 0;
    for (const auto& [name, row] : servers) {
        BOOST_TEST(number(row, "stot") >= 1, name << " took no client:" << describe(servers));
        sessions += number(row, "stot");
        cluster.instance(name).daemon.wait_count(closed_line,
                                                 static_cast<std::size_t>(number(row, "stot")));
    }
    BOOST_TEST(sessions == 24);
    std::size_t lines = 0;
    for (const auto& echod : cluster.echods) {
        lines += echod->daemon.count(closed_line);
        BOOST_TEST(echod->daemon.count(balancer_as_peer) == 0u, echod->daemon.log());
    }
    BOOST_TEST(lines == 24u);  // one per client, and none for the health checks
    for (const std::string& line : expected) {
        std::size_t found = 0;
        for (const auto& echod : cluster.echods) {
            found += echod->daemon.count(line);
        }
        BOOST_TEST(found == 1u, line);
    }
}

BOOST_AUTO_TEST_CASE(max_per_source_applies_to_the_real_client)
{
    Cluster cluster("max_per_source = 2\n");
    // leastconn spreads client A's six connections two to each instance: A's limit on each.
    std::vector<UniqueFd> a;
    for (int i = 0; i < 6; ++i) {
        a.push_back(connect_tcp(balancer, cluster.port, "127.0.0.2"));
        expect_echo(a.back().get(), "A" + std::to_string(i));
    }
    const ServerStats before = cluster.servers();
    for (const auto& [name, row] : before) {
        BOOST_TEST_REQUIRE(number(row, "scur") == 2, describe(before));
    }
    // A's seventh is closed by the instance HAProxy picks, with nothing written...
    UniqueFd refused = connect_tcp(balancer, cluster.port, "127.0.0.2");
    send_regardless(refused.get(), "A over its limit");
    BOOST_TEST(wait_closed(refused.get(), 5s), "A's extra connection was echoed or left open");
    std::string refusing;
    const ServerStats after = cluster.servers();
    for (const auto& [name, row] : after) {
        refusing = number(row, "stot") > number(before.at(name), "stot") ? name : refusing;
    }
    BOOST_TEST_REQUIRE(!refusing.empty(), describe(after));
    cluster.instance(refusing).daemon.wait_for(
        R"(notice: msg="limit reached" limit=max_per_source max_per_source=2 source=127\.0\.0\.2 )"
        "effect=\"further connections from it are closed\"");
    // ...while client B, through the same balancer, is served, and A's six go on.
    UniqueFd b = connect_tcp(balancer, cluster.port, "127.0.0.3");
    expect_echo(b.get(), "B is served");
    for (UniqueFd& fd : a) {
        expect_echo(fd.get(), "A still echoing");
    }
    for (const auto& echod : cluster.echods) {
        BOOST_TEST(echod->daemon.count(R"(max_per_source=2 source=127\.0\.0\.1)") == 0u);
    }
}

BOOST_AUTO_TEST_CASE(a_client_outside_proxy_trusted_is_refused_straight_to_an_instance)
{
    Echod echod("proxy_protocol = v2\nproxy_trusted = " + balancer + "\n");
    // From 127.0.0.2, not trusted: closed with nothing written, with or without a header.
    const std::string header = proxy_v2_header("127.0.0.7", 4242, "127.0.0.1", echod.port);
    for (const std::string& first_bytes : {std::string("plain bytes"), header + "hello"}) {
        UniqueFd client = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
        send_regardless(client.get(), first_bytes);
        BOOST_TEST(wait_closed(client.get(), 5s), "an untrusted client was not refused");
    }
    echod.daemon.wait_for(R"(notice: msg="limit reached" limit=proxy_trusted peer=127\.0\.0\.2 )"
                          "effect=\"further refusals are counted, not logged\"");
    // From the trusted address, the same header is taken: the echo has only what followed
    // it, and the log names the client in the header.
    UniqueFd trusted = connect_tcp("127.0.0.1", echod.port, balancer);
    const std::uint16_t trusted_port = local_port(trusted.get());
    send_all(trusted.get(), header);
    expect_echo(trusted.get(), "hello");
    ::shutdown(trusted.get(), SHUT_WR);
    BOOST_TEST(wait_closed(trusted.get()));
    echod.daemon.wait_for(R"(info: msg="connection closed" peer=127\.0\.0\.7:4242 via=127\.0\.0\.1:)" +
                          std::to_string(trusted_port) + " pid=\\d+ bytes_in=5 bytes_out=5 ");
    BOOST_TEST(echod.daemon.count(R"(peer=127\.0\.0\.2:.* bytes_out=[1-9])") == 0u,
               echod.daemon.log());
}

BOOST_AUTO_TEST_CASE(health_checks_keep_every_instance_up_and_are_logged_at_debug_only)
{
    // The first instance logs at debug, to count the checks it serves.
    Cluster cluster("", "log_level = debug\n");
    Daemon& debug = cluster.echods[0]->daemon;
    // Each check is a v2 LOCAL connection: "echod-check" echoed, logged at debug only.
    debug.wait_count(R"(debug: msg="connection closed" peer=127\.0\.0\.1:\d+ pid=\d+ local=yes )"
                     R"(bytes_in=11 bytes_out=11 duration_ms=\d+ reason=eof$)",
                     5, 10s);
    const ServerStats servers = cluster.servers();
    for (const auto& [name, row] : servers) {
        BOOST_TEST(row.at("status") == "UP", describe(servers));
        BOOST_TEST(check_status(row) == "L7OK", describe(servers));
        BOOST_TEST(number(row, "chkfail") == 0, describe(servers));
        BOOST_TEST(number(row, "chkdown") == 0, describe(servers));
        BOOST_TEST(number(row, "stot") == 0, describe(servers));  // checks are not sessions
    }
    for (const auto& echod : cluster.echods) {
        BOOST_TEST(echod->daemon.count(balancer_as_peer) == 0u, echod->daemon.log());
        BOOST_TEST(echod->daemon.count(closed_line) == 0u, echod->daemon.log());
        BOOST_TEST(echod->daemon.count("warning|error") == 0u, echod->daemon.log());
    }
}

BOOST_AUTO_TEST_CASE(sigterm_to_one_instance_under_a_client_loop_fails_no_client)
{
    Cluster cluster("log_level = debug\n");  // debug: a refused connection says why
    // One long session on each instance (leastconn), to show that a stopping instance
    // drains its own and that HAProxy does not cut it when it marks the instance DOWN.
    std::vector<UniqueFd> long_sessions;
    std::string long_ports;  // "P1|P2|P3"
    for (int i = 0; i < 3; ++i) {
        const std::string client = "127.0.0." + std::to_string(2 + i);
        long_sessions.push_back(connect_tcp(balancer, cluster.port, client));
        expect_echo(long_sessions.back().get(), "long session");
        long_ports += (i > 0 ? "|" : "") + std::to_string(local_port(long_sessions.back().get()));
    }
    Echod& stopped = *cluster.echods[2];
    const LoopResult loop =
        client_loop(cluster.port, 400, 4, 100, [&] { stopped.daemon.signal(SIGTERM); });
    BOOST_TEST(loop.failures.empty(), loop_report(loop, *cluster.haproxy, &stopped.daemon));
    cluster.wait_servers("echod3 DOWN", [](const ServerStats& servers) {
        return servers.at("echod3").at("status") == "DOWN";
    });
    const ServerStats servers = cluster.servers();
    BOOST_TEST(servers.at("echod1").at("status") == "UP", describe(servers));
    BOOST_TEST(servers.at("echod2").at("status") == "UP", describe(servers));
    BOOST_TEST_MESSAGE("after SIGTERM to echod3:" << describe(servers));
    stopped.daemon.wait_for(R"(notice: msg="stopping" signal=SIGTERM active=[1-9]\d* )");
    // The long sessions, echod3's too, go on echoing after it is DOWN, and end cleanly.
    for (UniqueFd& fd : long_sessions) {
        expect_echo(fd.get(), "after the stop");
        ::shutdown(fd.get(), SHUT_WR);
        BOOST_TEST(wait_closed(fd.get()));
    }
    BOOST_TEST(stopped.daemon.wait_exit(15s) == 0);
    const std::string drained = R"(info: msg="connection closed" peer=127\.0\.0\.[2-4]:()" + long_ports +
                                R"() via=.* bytes_in=26 bytes_out=26 .*reason=eof$)";
    BOOST_TEST(stopped.daemon.count(drained) == 1u, stopped.daemon.log());
    BOOST_TEST(stopped.daemon.count("reason=shutdown") == 0u, stopped.daemon.log());
}

BOOST_AUTO_TEST_CASE(an_instance_drained_through_the_stats_socket_stops_with_no_retry)
{
    // docs/scale-out.md's planned stop: drain in HAProxy, wait for its sessions to end,
    // then SIGTERM. No connection is on its way to the instance when its listener closes,
    // so not even a retry is needed.
    Cluster cluster;
    Echod& stopped = *cluster.echods[2];
    const LoopResult loop = client_loop(cluster.port, 400, 4, 100, [&] {
        const std::optional<std::string> answer =
            stats_command(cluster.stats_socket, "set server echod/echod3 state drain");
        BOOST_TEST_REQUIRE((answer && answer->find_first_not_of("\n") == std::string::npos),
                           "set server ... state drain answered: " << answer.value_or("nothing"));
        cluster.wait_servers("echod3 drained", [](const ServerStats& servers) {
            return servers.at("echod3").at("status") == "DRAIN" &&
                   number(servers.at("echod3"), "scur") == 0;
        });
        stopped.daemon.signal(SIGTERM);
    });
    BOOST_TEST(loop.failures.empty(), loop_report(loop, *cluster.haproxy));
    BOOST_TEST(stopped.daemon.wait_exit(15s) == 0);
    cluster.wait_servers("echod3 DOWN", [](const ServerStats& servers) {
        return servers.at("echod3").at("status").rfind("DOWN", 0) == 0;
    });
    const ServerStats servers = cluster.servers();
    BOOST_TEST(number(servers.at("echod3"), "wredis") == 0, describe(servers));
    BOOST_TEST(number(servers.at("echod3"), "econ") == 0, describe(servers));
}

BOOST_AUTO_TEST_CASE(a_reload_of_one_instance_is_invisible_to_clients)
{
    Cluster cluster;
    Echod& reloaded = *cluster.echods[1];
    UniqueFd long_session = connect_tcp(balancer, cluster.port, "127.0.0.2");
    expect_echo(long_session.get(), "before the reload");
    std::size_t after_reload = 0;
    const LoopResult loop = client_loop(cluster.port, 400, 4, 100, [&] {
        // A real change (max_per_source), on the port it has: its listener stays open.
        reloaded.rewrite("address = 127.0.0.1\nport = " + std::to_string(reloaded.port) +
                         "\nproxy_protocol = v2\nproxy_trusted = " + balancer +
                         "\nmax_per_source = 30\n");
        const CommandResult reload =
            run_command({echod_path(), "--reload", std::to_string(reloaded.daemon.pid())});
        BOOST_TEST_REQUIRE(reload.status == 0, reload.err);
        after_reload = reloaded.daemon.line_count();
    });
    BOOST_TEST(loop.failures.empty(), loop_report(loop, *cluster.haproxy));
    const std::string port = std::to_string(reloaded.port);
    reloaded.daemon.wait_for("notice: msg=\"reloaded\" listening=127.0.0.1:" + port + " port=" + port +
                             " .* max_per_source=30 ");
    // It served clients after the reload too, and HAProxy never saw it go.
    reloaded.daemon.wait_for(R"(info: msg="connection closed" peer=127\.0\.0\.[2-9]:\d+ via=)", 10s,
                             after_reload);
    const ServerStats servers = cluster.servers();
    for (const auto& [name, row] : servers) {
        BOOST_TEST(row.at("status") == "UP", describe(servers));
        BOOST_TEST(number(row, "chkdown") == 0, describe(servers));
    }
    expect_echo(long_session.get(), "after the reload");
    BOOST_TEST(reloaded.daemon.count("reload failed") == 0u, reloaded.daemon.log());
}

int main(int argc, char* argv[])
{
    if (!executable_in_path("haproxy")) {
        std::cout << "SKIPPED: haproxy_test needs haproxy in PATH "
                     "(Debian: apt-get install haproxy, as tools/install-deps does)"
                  << std::endl;
        return 77;
    }
    return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}
