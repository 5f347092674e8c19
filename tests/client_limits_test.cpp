// What one client, or one network of clients, may take, on the real echod in both modes:
// max_per_source and max_per_network (counted in one place, released when a connection
// ends or its child dies), and max_session.
#define BOOST_TEST_MODULE client_limits
#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {

const std::string fork_mode = "mode = fork\n";
const std::string prefork_mode = "mode = prefork\nmin_spare_children = 4\n";

// One short client from `source`: connect, send a byte, read it back, half-close, wait for
// the server's close. Returns whether all of it happened within 5 s. No Boost.Test
// assertions: it runs in threads.
bool echo_round(std::uint16_t port, const char* source)
{
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &local.sin_addr);
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        ::connect(fd.get(), reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0 ||
        ::send(fd.get(), "x", 1, MSG_NOSIGNAL) != 1) {
        return false;
    }
    pollfd pfd{fd.get(), POLLIN, 0};
    char byte = 0;
    if (::poll(&pfd, 1, 5000) != 1 || ::recv(fd.get(), &byte, 1, 0) != 1 || byte != 'x') {
        return false;
    }
    ::shutdown(fd.get(), SHUT_WR);
    return ::poll(&pfd, 1, 5000) == 1 && ::recv(fd.get(), &byte, 1, 0) == 0;
}

// A connection from `source` that is closed at once with nothing written.
void expect_refused(std::uint16_t port, const std::string& source)
{
    UniqueFd extra = connect_tcp("127.0.0.1", port, source);
    BOOST_TEST(wait_closed(extra.get(), 2s), "a connection from " << source << " was served");
}

void clients_within_their_limit_are_never_refused(const std::string& mode)
{
    // Eight clients from one address, each one connection at a time, flat out for 3 s,
    // against max_per_source = 8: never more than 8 open, so none may be refused. A child
    // whose client had gone still counted until the master read its report and reaped it,
    // and under this load the master accepted before it reaped: hundreds were refused.
    Echod echod(mode + "max_per_source = 8\nlog_level = notice\n");
    std::atomic<int> served{0};
    std::atomic<int> failed{0};
    std::vector<std::thread> clients;
    const auto end = Clock::now() + 3s;
    for (int i = 0; i < 8; ++i) {
        clients.emplace_back([&] {
            while (Clock::now() < end && served.load() < 100000) {
                (echo_round(echod.port, "127.0.0.2") ? served : failed).fetch_add(1);
            }
        });
    }
    for (std::thread& client : clients) {
        client.join();
    }
    BOOST_TEST_MESSAGE("FIGURE " << mode.substr(0, mode.find('\n')) << ": " << served.load()
                                 << " served, " << failed.load() << " failed in 3 s");
    BOOST_TEST(served.load() > 100);
    BOOST_TEST(failed.load() == 0);
    echod.daemon.signal(SIGUSR1);
    echod.daemon.wait_for("msg=\"status\" .* refused=0 ");
    BOOST_TEST(echod.daemon.count("msg=\"limit reached\"") == 0u);
}

void max_per_network_refuses_a_busy_network_and_serves_others(const std::string& mode)
{
    Echod echod(mode + "max_per_source = 0\nmax_per_network = 2\n");
    UniqueFd a = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    UniqueFd b = connect_tcp("127.0.0.1", echod.port, "127.0.0.3");
    expect_echo(a.get(), "a");
    expect_echo(b.get(), "b");
    expect_refused(echod.port, "127.0.0.4");  // the same /24
    UniqueFd other = connect_tcp("127.0.0.1", echod.port, "127.0.1.2");
    expect_echo(other.get(), "another /24");
    echod.daemon.wait_for("notice: msg=\"limit reached\" limit=max_per_network max_per_network=2 network=127.0.0.0/24 "
                          "effect=\"further connections from it are closed\"");
    a.reset();
    echod.daemon.wait_for("msg=\"limit cleared\" limit=max_per_network max_per_network=2 network=127.0.0.0/24 refused=1 "
                          "duration_ms=\\d+$");
    UniqueFd again = connect_tcp("127.0.0.1", echod.port, "127.0.0.4");
    expect_echo(again.get(), "room again");
}

void a_reload_that_turns_max_per_source_on_counts_the_open_connections(const std::string& mode)
{
    Echod echod(mode + "max_per_source = 0\n");
    std::vector<UniqueFd> before;
    for (int i = 0; i < 3; ++i) {
        before.push_back(connect_tcp("127.0.0.1", echod.port, "127.0.0.2"));
        expect_echo(before.back().get(), "before " + std::to_string(i));
    }
    const std::vector<pid_t> old_children = child_pids(echod.daemon.pid());
    echod.reload(with_loopback_defaults(mode + "max_per_source = 2\n"));
    echod.daemon.wait_for("msg=\"reloaded\" .* max_per_source=2 ");
    // Only the three busy children may be left of those forked before the reload.
    BOOST_TEST_REQUIRE(wait_children_gone(echod.daemon.pid(), old_children, 3));
    for (int i = 0; i < 3; ++i) {
        expect_refused(echod.port, "127.0.0.2");  // 3 open already, against a limit of 2
    }
    for (UniqueFd& fd : before) {
        expect_echo(fd.get(), "still served");
    }
    before.clear();
    echod.daemon.wait_count("msg=\"connection closed\" .* reason=eof$", 3);
    UniqueFd after = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    expect_echo(after.get(), "under the limit again");
}

void max_session_ends_a_trickling_client(const std::string& mode)
{
    // One byte every 500 ms keeps re-arming idle_timeout = 1s; max_session = 2s ends it.
    Echod echod(mode + "idle_timeout = 1s\nmax_session = 2s\n");
    UniqueFd client = connect_tcp("127.0.0.1", echod.port);
    const auto start = Clock::now();
    bool closed = false;
    for (int i = 0; i < 12 && !closed; ++i) {
        if (::send(client.get(), "t", 1, MSG_NOSIGNAL) != 1) {
            closed = true;
            break;
        }
        char byte = 0;
        pollfd pfd{client.get(), POLLIN, 0};
        closed = ::poll(&pfd, 1, 1000) == 1 && ::recv(client.get(), &byte, 1, 0) <= 0;
        if (!closed) {
            std::this_thread::sleep_for(500ms);  // the trickle itself, not a wait for echod
        }
    }
    if (!closed) {
        closed = wait_closed(client.get(), 2s);
    }
    const auto lasted = Clock::now() - start;
    BOOST_TEST(closed);
    BOOST_TEST((lasted >= 1900ms && lasted < 3500ms),
               "closed after " << std::chrono::duration_cast<std::chrono::milliseconds>(lasted).count()
                               << " ms");
    echod.daemon.wait_for("info: msg=\"connection closed\" .* reason=session$");
    echod.daemon.signal(SIGUSR1);
    echod.daemon.wait_for("msg=\"status\" .* session=1 ");
}

}  // namespace

BOOST_AUTO_TEST_CASE(fork_clients_within_their_limit_are_never_refused)
{
    clients_within_their_limit_are_never_refused(fork_mode);
}

BOOST_AUTO_TEST_CASE(prefork_clients_within_their_limit_are_never_refused)
{
    clients_within_their_limit_are_never_refused(prefork_mode);
}

BOOST_AUTO_TEST_CASE(fork_max_per_network_refuses_a_busy_network_and_serves_others)
{
    max_per_network_refuses_a_busy_network_and_serves_others(fork_mode);
}

BOOST_AUTO_TEST_CASE(prefork_max_per_network_refuses_a_busy_network_and_serves_others)
{
    max_per_network_refuses_a_busy_network_and_serves_others(prefork_mode);
}

BOOST_AUTO_TEST_CASE(fork_a_reload_that_turns_max_per_source_on_counts_open_connections)
{
    a_reload_that_turns_max_per_source_on_counts_the_open_connections(fork_mode);
}

BOOST_AUTO_TEST_CASE(prefork_a_reload_that_turns_max_per_source_on_counts_open_connections)
{
    a_reload_that_turns_max_per_source_on_counts_the_open_connections(prefork_mode);
}

BOOST_AUTO_TEST_CASE(fork_max_session_ends_a_trickling_client)
{
    max_session_ends_a_trickling_client(fork_mode);
}

BOOST_AUTO_TEST_CASE(prefork_max_session_ends_a_trickling_client)
{
    max_session_ends_a_trickling_client(prefork_mode);
}

BOOST_AUTO_TEST_CASE(prefork_a_child_killed_before_it_could_report_leaks_no_count)
{
    // The master is stopped, so the report pipe fills; a child then counts a connection
    // and blocks writing its `accepted` record. Killed there, it had told the master
    // nothing: its count used to leak for good (max_per_source = 1 then refused the source
    // for ever). The master now releases what the child's hold says at the reap.
    Echod echod("mode = prefork\nmin_spare_children = 1\nmax_spare_children = 1\n"
                "max_connections_per_child = 0\nmax_per_source = 1\nlog_level = notice\n");
    const pid_t master = echod.daemon.pid();
    echod.daemon.signal(SIGSTOP);
    UniqueFd stuck;
    for (int i = 0; i < 3000 && !stuck; ++i) {
        UniqueFd client = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
        send_all(client.get(), "x");
        pollfd pfd{client.get(), POLLIN, 0};
        if (::poll(&pfd, 1, 1000) != 1) {
            stuck = std::move(client);  // counted, and waiting on the full pipe
            break;
        }
        BOOST_TEST_REQUIRE(recv_exact(client.get(), 1) == "x");
        ::shutdown(client.get(), SHUT_WR);
        BOOST_TEST_REQUIRE(wait_closed(client.get()));
    }
    BOOST_TEST_REQUIRE(static_cast<bool>(stuck), "the report pipe never filled");
    for (pid_t child : child_pids(master)) {
        ::kill(child, SIGKILL);
    }
    echod.daemon.signal(SIGCONT);
    BOOST_TEST(wait_closed(stuck.get()));
    // Logged as a spare that died (the master never heard of the connection), or, if the
    // child was only slow and its `accepted` record got through, as a killed connection.
    echod.daemon.wait_for("(msg=\"spare child exited; forking paused\" pid=\\d+|msg=\"connection closed\" .*) reason=killed signal=9");
    UniqueFd again = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    expect_echo(again.get(), "the source is free again");
    BOOST_TEST(echod.daemon.count("msg=\"limit reached\" limit=max_per_source") == 0u);
}
