// Prefork mode on the real echod: spare children accept on the shared listener, and
// everything fork mode promises still holds (limits, timeouts, the per-connection log line,
// reload, graceful stop, a killed child or master).
#define BOOST_TEST_MODULE prefork
#include "harness.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <set>
#include <sstream>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {

// Waits until the master has `n` children (spares and busy ones), bounded by `timeout`.
// A child's fork is not logged, so this reads /proc, 20 times a second at most.
bool wait_children(pid_t master, std::size_t n, std::chrono::milliseconds timeout = 10s)
{
    const auto deadline = Clock::now() + timeout;
    while (live_children(master) != n) {
        if (Clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(50ms);
    }
    return true;
}

std::set<std::string> pids_of(const std::vector<std::string>& lines)
{
    std::set<std::string> pids;
    const std::regex pid(R"( pid=(\d+)( |$))");
    for (const std::string& line : lines) {
        std::smatch match;
        if (std::regex_search(line, match, pid)) {
            pids.insert(match[1]);
        }
    }
    return pids;
}

std::vector<std::string> lines_matching(const Daemon& daemon, const std::string& pattern)
{
    std::vector<std::string> found;
    const std::regex re(pattern);
    std::istringstream log(daemon.log());
    for (std::string line; std::getline(log, line);) {
        if (std::regex_search(line, re)) {
            found.push_back(line);
        }
    }
    return found;
}

}  // namespace

BOOST_AUTO_TEST_CASE(spares_are_forked_before_ready_and_serve_one_connection_each)
{
    Echod echod("mode = prefork\nmin_spare_children = 3\nmax_spare_children = 6\n");
    const std::string ready = echod.daemon.wait_for("msg=\"ready\" ");
    BOOST_TEST(ready.find(" mode=prefork ") != std::string::npos, ready);
    BOOST_TEST(live_children(echod.daemon.pid()) == 3u);
    for (int i = 0; i < 6; ++i) {
        UniqueFd client = connect_tcp("127.0.0.1", echod.port);
        expect_echo(client.get(), "prefork " + std::to_string(i));
    }
    echod.daemon.wait_count(R"(info: msg="connection closed" peer=127\.0\.0\.1:\d+ pid=\d+ bytes_in=9 bytes_out=9 duration_ms=\d+ reason=eof$)", 6);
    // max_connections_per_child = 1 (the default): six connections, six processes.
    BOOST_TEST(pids_of(lines_matching(echod.daemon, "msg=\"connection closed\"")).size() == 6u);
    BOOST_TEST(wait_children(echod.daemon.pid(), 3));
    echod.daemon.signal(SIGUSR1);
    echod.daemon.wait_for("msg=\"status\" active=0 served=6 refused=0 fork_failed=0 eof=6 .* spare=3 ");
}

BOOST_AUTO_TEST_CASE(a_child_serves_up_to_max_connections_per_child_then_exits)
{
    Echod echod("mode = prefork\nmin_spare_children = 1\nmax_spare_children = 1\n"
                "max_connections_per_child = 3\n");
    for (int i = 0; i < 9; ++i) {
        UniqueFd client = connect_tcp("127.0.0.1", echod.port);
        expect_echo(client.get(), "x");
        ::shutdown(client.get(), SHUT_WR);
        BOOST_TEST(wait_closed(client.get()));  // served one at a time
    }
    echod.daemon.wait_count("msg=\"connection closed\" .* reason=eof$", 9);
    // Which waiting child the kernel wakes is its choice; but none serves more than 3, and
    // one that served 3 has exited.
    const std::set<std::string> pids = pids_of(lines_matching(echod.daemon, "msg=\"connection closed\""));
    std::size_t full = 0;
    for (const std::string& pid : pids) {
        const std::size_t n = echod.daemon.count("msg=\"connection closed\" .* pid=" + pid + " ");
        BOOST_TEST(n <= 3u, pid);
        if (n == 3) {
            ++full;
            const auto deadline = Clock::now() + 5s;
            while (::kill(std::stoi(pid), 0) == 0 && Clock::now() < deadline) {
                std::this_thread::sleep_for(20ms);
            }
            BOOST_TEST(::kill(std::stoi(pid), 0) != 0, pid << " served 3 and lives on");
        }
    }
    BOOST_TEST(full >= 1u);
    // A retired child is reaped: one spare, no zombie.
    BOOST_TEST(wait_children(echod.daemon.pid(), 1));
    BOOST_TEST(zombie_children(echod.daemon.pid()) == 0u);
}

BOOST_AUTO_TEST_CASE(a_spare_holds_only_its_listener_signalfd_epoll_and_report_pipe)
{
    Echod echod("mode = prefork\nmin_spare_children = 1\nmax_spare_children = 1\n");
    BOOST_TEST_REQUIRE(wait_children(echod.daemon.pid(), 1));
    const pid_t spare = child_pids(echod.daemon.pid()).front();
    // 0-2, the listener, the signalfd, the epoll instance, the report pipe. Once it waits in
    // epoll_wait: a child just forked may not have closed what it inherited yet.
    const auto deadline = Clock::now() + 5s;
    while (process_wait_channel(spare) != "do_epoll_wait" && Clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    BOOST_TEST(open_fd_count(spare) == 7u);
}

BOOST_AUTO_TEST_CASE(max_per_source_is_applied_by_the_children_and_released_on_close_and_kill)
{
    Echod echod("mode = prefork\nmax_per_source = 2\nmax_connections_per_child = 0\n"
                "log_level = debug\n");
    UniqueFd a1 = connect_tcp("127.0.0.1", echod.port, "127.0.0.1");
    UniqueFd a2 = connect_tcp("127.0.0.1", echod.port, "127.0.0.1");
    expect_echo(a1.get(), "a1");
    expect_echo(a2.get(), "a2");
    for (int i = 0; i < 2; ++i) {
        UniqueFd extra = connect_tcp("127.0.0.1", echod.port, "127.0.0.1");
        BOOST_TEST(wait_closed(extra.get(), 2s));  // nothing written, closed at once
    }
    UniqueFd b1 = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    expect_echo(b1.get(), "other source");
    echod.daemon.wait_for("msg=\"limit reached\" limit=max_per_source max_per_source=2 source=127.0.0.1 effect=\"further connections from it are closed\"");
    // A closed connection frees its slot.
    a1.reset();
    echod.daemon.wait_for("msg=\"connection closed\" peer=127.0.0.1:\\d+ .* reason=eof");
    UniqueFd a3 = connect_tcp("127.0.0.1", echod.port, "127.0.0.1");
    expect_echo(a3.get(), "a3");
    // So does a child killed mid-connection: a3's, the last accepted from 127.0.0.1.
    const std::vector<std::string> busy =
        lines_matching(echod.daemon, R"(msg="connection accepted" peer=127\.0\.0\.1:)");
    BOOST_TEST_REQUIRE(!busy.empty());
    echod.daemon.signal(SIGUSR1);
    echod.daemon.wait_for("msg=\"status\" active=3 served=1 refused=2 ");
    const std::set<std::string> a3_pids = pids_of({busy.back()});
    BOOST_TEST_REQUIRE(a3_pids.size() == 1u);
    const std::string a3_pid = *a3_pids.begin();
    ::kill(std::stoi(a3_pid), SIGKILL);
    echod.daemon.wait_for("warning: msg=\"connection closed\" peer=127.0.0.1:\\d+ pid=" + a3_pid +
                          " .* reason=killed signal=9");
    UniqueFd a4 = connect_tcp("127.0.0.1", echod.port, "127.0.0.1");
    expect_echo(a4.get(), "a4");
}

BOOST_AUTO_TEST_CASE(at_max_children_clients_wait_in_the_backlog_not_refused)
{
    Echod echod("mode = prefork\nmax_children = 2\nmin_spare_children = 2\n"
                "max_per_source = 0\nmax_per_network = 0\n");
    std::vector<UniqueFd> clients;
    for (int i = 0; i < 4; ++i) {
        clients.push_back(connect_tcp("127.0.0.1", echod.port));
        send_all(clients.back().get(), "client" + std::to_string(i));
    }
    BOOST_TEST(recv_exact(clients[0].get(), 7) == "client0");
    BOOST_TEST(recv_exact(clients[1].get(), 7) == "client1");
    echod.daemon.wait_for("msg=\"limit reached\" limit=max_children max_children=2 effect=\"new clients wait in the listen backlog\"");
    BOOST_TEST(nothing_arrives(clients[2].get(), 300ms));
    BOOST_TEST(live_children(echod.daemon.pid()) == 2u);
    for (int i = 2; i < 4; ++i) {
        clients[i - 2].reset();
        BOOST_TEST(recv_exact(clients[i].get(), 7) == "client" + std::to_string(i));
    }
    clients.clear();
    echod.daemon.wait_count("msg=\"connection closed\" .* reason=eof$", 4);
    echod.daemon.signal(SIGUSR1);
    echod.daemon.wait_for("msg=\"status\" active=0 served=4 refused=0 ");
}

BOOST_AUTO_TEST_CASE(urgent_data_is_echoed_inline_and_counted_in_prefork_mode)
{
    // Regression: MSG_OOB "X" between "abc" and "def" came back "abcdef", bytes_in=6.
    Echod echod("mode = prefork\nmin_spare_children = 1\nmax_connections_per_child = 2\n");
    for (int i = 0; i < 2; ++i) {  // a fresh child, then one that served before
        BOOST_TEST(echo_with_urgent_byte("127.0.0.1", echod.port) == "abcXdef");
    }
    echod.daemon.wait_count(R"(msg="connection closed" peer=127\.0\.0\.1:\d+ pid=\d+ bytes_in=7 bytes_out=7 duration_ms=\d+ reason=eof$)", 2);
}

BOOST_AUTO_TEST_CASE(idle_and_stall_timeouts_hold_in_prefork_mode)
{
    Echod echod("mode = prefork\nidle_timeout = 500ms\n");
    UniqueFd client = connect_tcp("127.0.0.1", echod.port);
    expect_echo(client.get(), "then nothing");
    const auto start = Clock::now();
    BOOST_TEST(wait_closed(client.get(), 5s));
    BOOST_TEST((Clock::now() - start >= 400ms));
    echod.daemon.wait_for("msg=\"connection closed\" .* bytes_in=12 bytes_out=12 .* reason=idle$");
}

BOOST_AUTO_TEST_CASE(surplus_spares_are_retired_down_to_max_spare_children)
{
    Echod echod("mode = prefork\nmin_spare_children = 1\nmax_spare_children = 2\n"
                "max_connections_per_child = 0\nmax_per_source = 0\nmax_per_network = 0\n");
    // Ten at once need ten children; afterwards they are all spares, then retired.
    std::vector<UniqueFd> clients;
    for (int i = 0; i < 10; ++i) {
        clients.push_back(connect_tcp("127.0.0.1", echod.port));
        send_all(clients.back().get(), "burst");
    }
    for (UniqueFd& client : clients) {
        BOOST_TEST(recv_exact(client.get(), 5) == "burst");
    }
    BOOST_TEST(live_children(echod.daemon.pid()) >= 10u);
    clients.clear();
    echod.daemon.wait_count("msg=\"connection closed\" .* reason=eof$", 10);
    // One retirement a second: from 10 or 11 spares down to 2 takes 8 to 9 s.
    BOOST_TEST(wait_children(echod.daemon.pid(), 2, 15s));
    BOOST_TEST(zombie_children(echod.daemon.pid()) == 0u);
}

BOOST_AUTO_TEST_CASE(reload_moves_the_port_and_replaces_every_spare_while_a_connection_goes_on)
{
    Echod echod("mode = prefork\nmin_spare_children = 2\nmax_spare_children = 4\n");
    UniqueFd live = connect_tcp("127.0.0.1", echod.port);
    expect_echo(live.get(), "before");
    BOOST_TEST_REQUIRE(wait_children(echod.daemon.pid(), 3));
    const std::vector<pid_t> before = child_pids(echod.daemon.pid());
    const std::uint16_t old_port = echod.port;
    const std::uint16_t new_port = free_port();
    echod.reload("mode = prefork\nmin_spare_children = 2\nmax_spare_children = 4\n"
                 "address = 127.0.0.1\nport = " + std::to_string(new_port) + "\n");
    echod.daemon.wait_for("msg=\"reloaded\" listening=127.0.0.1:" + std::to_string(new_port));
    UniqueFd fresh = connect_tcp("127.0.0.1", new_port);
    expect_echo(fresh.get(), "new port");
    BOOST_TEST(connection_refused("127.0.0.1", old_port));
    expect_echo(live.get(), "still here");  // the busy child was asked to finish, not cut
    // The old busy child, the new busy one, two new spares: the old spares are gone (each
    // once it has read its retirement: not necessarily by the time the count is 4).
    BOOST_TEST(wait_children_gone(echod.daemon.pid(), before, 1));
    BOOST_TEST(wait_children(echod.daemon.pid(), 4));
    std::size_t old_ones = 0;
    for (pid_t pid : child_pids(echod.daemon.pid())) {
        old_ones += std::count(before.begin(), before.end(), pid);
    }
    BOOST_TEST(old_ones == 1u);
    live.reset();
    fresh.reset();
    echod.daemon.wait_count("msg=\"connection closed\" .* reason=eof$", 2);
    BOOST_TEST(wait_children(echod.daemon.pid(), 2));
}

BOOST_AUTO_TEST_CASE(reloads_that_drop_a_listener_never_look_like_exhaustion_in_a_child)
{
    // A child drops a listener the master shut down. Closing it while still registered in
    // its epoll set made epoll report the closed descriptor again, and accept4 on it
    // (EBADF) was taken for exhaustion: "accept4 failed in a child", forking paused.
    const std::string both =
        "mode = prefork\nmin_spare_children = 10\nport = 0\naddress = 127.0.0.1, ::1\n";
    const std::string one = "mode = prefork\nmin_spare_children = 10\nport = 0\naddress = 127.0.0.1\n";
    Echod echod(both);
    for (int i = 1; i <= 10; ++i) {
        echod.reload(i % 2 == 1 ? one : both);
        echod.daemon.wait_count("msg=\"reloaded\" listening=", static_cast<std::size_t>(i));
        echo_once(echod.port, "after reload " + std::to_string(i));
    }
    echo_once(echod.port, "at the end");
    BOOST_TEST(echod.daemon.count("accept4 failed") == 0u);
    BOOST_TEST(echod.daemon.count("reload failed") == 0u);
}

BOOST_AUTO_TEST_CASE(sigterm_drains_the_busy_child_and_ends_the_spares_at_once)
{
    Echod echod("mode = prefork\nmin_spare_children = 4\nmax_spare_children = 8\n");
    UniqueFd live = connect_tcp("127.0.0.1", echod.port);
    expect_echo(live.get(), "before stop");
    BOOST_TEST_REQUIRE(wait_children(echod.daemon.pid(), 5));
    echod.daemon.signal(SIGTERM);
    echod.daemon.wait_for("notice: msg=\"stopping\" signal=SIGTERM active=1 shutdown_timeout=10s");
    BOOST_TEST(wait_children(echod.daemon.pid(), 1, 5s));  // the spares are gone
    BOOST_TEST(connection_refused("127.0.0.1", echod.port));
    expect_echo(live.get(), "during the drain");
    ::shutdown(live.get(), SHUT_WR);
    BOOST_TEST(wait_closed(live.get()));
    BOOST_TEST(echod.daemon.wait_exit() == 0);
    echod.daemon.wait_for("msg=\"connection closed\" .* reason=eof$");
}

BOOST_AUTO_TEST_CASE(a_killed_spare_is_logged_and_replaced)
{
    Echod echod("mode = prefork\nmin_spare_children = 2\nmax_spare_children = 2\n");
    BOOST_TEST_REQUIRE(wait_children(echod.daemon.pid(), 2));
    const pid_t spare = child_pids(echod.daemon.pid()).front();
    ::kill(spare, SIGKILL);
    echod.daemon.wait_for("warning: msg=\"spare child exited; forking paused\" pid=" + std::to_string(spare) +
                          " reason=killed signal=9");
    BOOST_TEST(wait_children(echod.daemon.pid(), 2));
    UniqueFd client = connect_tcp("127.0.0.1", echod.port);
    expect_echo(client.get(), "served by a replacement");
    echod.daemon.signal(SIGUSR1);
    echod.daemon.wait_for("msg=\"status\" active=1 served=0 .* killed=0 spare=\\d+");
}

BOOST_AUTO_TEST_CASE(spares_that_die_as_they_start_are_forked_again_after_a_backoff_not_in_a_storm)
{
    // Every spare is killed as soon as it appears, for 2 s. Without a backoff the master
    // forked a replacement on every pass, with a warning each: hundreds of both.
    Echod echod("mode = prefork\nmin_spare_children = 1\nmax_spare_children = 1\n");
    const pid_t master = echod.daemon.pid();
    std::set<pid_t> killed;
    const auto end = Clock::now() + 2s;
    while (Clock::now() < end && killed.size() < 1000) {
        for (pid_t pid : child_pids(master)) {
            if (killed.insert(pid).second) {
                ::kill(pid, SIGKILL);
            }
        }
        std::this_thread::sleep_for(2ms);
    }
    BOOST_TEST_MESSAGE("FIGURE spares killed on arrival in 2 s: " << killed.size());
    // Backoff 100, 200, 400, 800, 1000 ms: about 5 forks in 2 s, 10 at the very most.
    BOOST_TEST(killed.size() <= 10u);
    echod.daemon.wait_for("notice: msg=\"limit cleared\" limit=spare_exits exited=\\d+ duration_ms=", 10s);
    BOOST_TEST(echod.daemon.count("warning: msg=\"spare child exited; forking paused\" pid=.* "
                                  "reason=killed signal=9$") == 1u);
    BOOST_TEST(wait_children(master, 1));
    echo_once(echod.port, "served once the spares live again");
}

BOOST_AUTO_TEST_CASE(a_master_killed_with_sigkill_leaves_the_port_free)
{
    auto echod = std::make_unique<Echod>("mode = prefork\nmin_spare_children = 3\n");
    const std::uint16_t port = echod->port;
    BOOST_TEST_REQUIRE(wait_children(echod->daemon.pid(), 3));
    const std::vector<pid_t> spares = child_pids(echod->daemon.pid());
    echod->daemon.signal(SIGKILL);
    BOOST_TEST(echod->daemon.wait_exit() == 128 + SIGKILL);
    // The spares get SIGTERM from the kernel (PR_SET_PDEATHSIG) and exit at once: nothing
    // holds the port, so a new echod binds it.
    const auto deadline = Clock::now() + 5s;
    for (pid_t pid : spares) {
        while (::kill(pid, 0) == 0 && Clock::now() < deadline) {
            std::this_thread::sleep_for(20ms);
        }
        BOOST_TEST(::kill(pid, 0) != 0, "spare " << pid << " outlived its master");
    }
    Echod again("mode = prefork\nport = " + std::to_string(port) + "\n");
    UniqueFd client = connect_tcp("127.0.0.1", again.port);
    expect_echo(client.get(), "same port, new master");
}

BOOST_AUTO_TEST_CASE(a_reload_can_switch_between_fork_and_prefork)
{
    Echod echod("mode = prefork\nmin_spare_children = 2\n");
    const std::string here = "address = 127.0.0.1\nport = 0\n";  // port 0 again: the same listener
    echod.reload(here + "mode = fork\n");
    echod.daemon.wait_for("msg=\"reloaded\" .* mode=fork ");
    BOOST_TEST(wait_children(echod.daemon.pid(), 0));
    UniqueFd a = connect_tcp("127.0.0.1", echod.port);
    expect_echo(a.get(), "fork mode");
    a.reset();
    echod.reload(here + "mode = prefork\nmin_spare_children = 2\n");
    echod.daemon.wait_for("msg=\"reloaded\" .* mode=prefork ");
    UniqueFd b = connect_tcp("127.0.0.1", echod.port);
    expect_echo(b.get(), "prefork again");
    echod.daemon.wait_count("msg=\"connection closed\" .* reason=eof$", 1);
}

BOOST_AUTO_TEST_CASE(after_a_reload_to_prefork_fork_mode_connections_count_against_max_per_source)
{
    const std::string here = "address = 127.0.0.1\nport = 0\nmax_per_source = 1\n";
    Echod echod(here + "mode = fork\n");
    UniqueFd a = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    expect_echo(a.get(), "served in fork mode");
    echod.reload(here + "mode = prefork\nmin_spare_children = 2\n");
    echod.daemon.wait_for("msg=\"reloaded\" .* mode=prefork ");
    // The fork-mode child still serves 127.0.0.2, so a second client from there is refused
    // by the prefork child that accepts it.
    UniqueFd b = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    BOOST_TEST(wait_closed(b.get()));
    echod.daemon.wait_for("msg=\"limit reached\" limit=max_per_source max_per_source=1 source=127.0.0.2");
    expect_echo(a.get(), "still served");
    // Its end gives the count back.
    a.reset();
    echod.daemon.wait_for("msg=\"connection closed\" peer=127.0.0.2:\\d+ .* reason=eof");
    UniqueFd c = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    expect_echo(c.get(), "served in prefork mode");
}

BOOST_AUTO_TEST_CASE(thousands_of_connections_leave_no_zombie_no_descriptor_and_no_source_count)
{
    // max_per_source at its default (32): every connection passes through the shared
    // per-source table, and afterwards it must hold no count for 127.0.0.1.
    Echod echod("mode = prefork\nmin_spare_children = 4\nmax_spare_children = 8\n");
    const pid_t master = echod.daemon.pid();
    auto one = [&](int i) { echo_once(echod.port, std::to_string(i)); };
    for (int i = 0; i < 300; ++i) {
        one(i);
    }
    echod.daemon.wait_closed_count(300);
    const std::size_t fds_after_300 = open_fd_count(master);
    for (int i = 300; i < 3000; ++i) {
        one(i);
    }
    // 16 clients at once, 100 connections each: children count and release concurrently.
    std::vector<std::thread> clients;
    for (int t = 0; t < 16; ++t) {
        clients.emplace_back([&, t] {
            for (int i = 0; i < 100; ++i) {
                one(10000 + t * 100 + i);
            }
        });
    }
    for (std::thread& client : clients) {
        client.join();
    }
    echod.daemon.wait_closed_count(4600, "eof", 60s);
    echod.daemon.signal(SIGUSR1);
    echod.daemon.wait_for("msg=\"status\" active=0 served=4600 refused=0 fork_failed=0 eof=4600 ");
    BOOST_TEST(zombie_children(master) == 0u);
    BOOST_TEST(open_fd_count(master) == fds_after_300);
    BOOST_TEST(wait_children(master, 4, 15s));  // the spares, surplus ones retired
    // No count left behind: exactly max_per_source connections from 127.0.0.1 fit.
    std::vector<UniqueFd> held;
    for (int i = 0; i < 32; ++i) {
        held.push_back(connect_tcp("127.0.0.1", echod.port, "127.0.0.1"));
        expect_echo(held.back().get(), "held " + std::to_string(i));
    }
    UniqueFd extra = connect_tcp("127.0.0.1", echod.port, "127.0.0.1");
    BOOST_TEST(wait_closed(extra.get(), 2s));
    echod.daemon.wait_for("msg=\"limit reached\" limit=max_per_source max_per_source=32 source=127.0.0.1");
}
