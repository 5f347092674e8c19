// The signal contract on the real echod: SIGHUP reload, SIGTERM graceful stop, SIGINT fast
// stop, and what children do with signals meant for the master.
#define BOOST_TEST_MODULE reload_stop
#include "harness.hpp"

#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <thread>

#include <filesystem>
#include <fstream>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {


// Starts echod on 127.0.0.1, any port, with `pid_file`, and returns how it ended (within
// 5 s: a start that fails must fail at once).
CommandResult start_with_pid_file(const TempDir& dir, const std::string& pid_file)
{
    const std::string config = dir.write("echod.conf", "address = 127.0.0.1\nport = 0\n"
                                                       "pid_file = " + pid_file + "\n");
    return run_command({echod_path(), "--config", config}, "", 5s);
}

std::string ready_pattern(std::uint16_t port, int backlog)
{
    const std::string p = std::to_string(port);
    return "notice: msg=\"reloaded\" listening=127.0.0.1:" + p + " port=" + p +
           " backlog=" + std::to_string(backlog) + " ";
}

// The pid a pid file holds, or 0 (missing, empty).
pid_t pid_in_file(const std::string& path)
{
    pid_t pid = 0;
    std::ifstream(path) >> pid;
    return pid;
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(reload_moves_port_and_backlog_while_live_connections_go_on)
{
    Echod echod("backlog = 16\n");
    BOOST_TEST(ss_backlog(echod.port) == 16);
    UniqueFd before = connect_tcp("127.0.0.1", echod.port);
    expect_echo(before.get(), "opened before the reload");

    const std::uint16_t new_port = free_port();
    echod.reload("address = 127.0.0.1\nport = " + std::to_string(new_port) + "\nbacklog = 32\n");
    echod.daemon.wait_for(ready_pattern(new_port, 32));

    BOOST_TEST(connection_refused("127.0.0.1", echod.port));
    UniqueFd after = connect_tcp("127.0.0.1", new_port);
    expect_echo(after.get(), "new port");
    BOOST_TEST(ss_backlog(new_port) == 32);
    expect_echo(before.get(), "still echoing after the reload");
}

BOOST_AUTO_TEST_CASE(a_backlog_change_keeps_the_same_socket)
{
    Echod echod("backlog = 8\n");
    UniqueFd queued = connect_tcp("127.0.0.1", echod.port);
    echod.reload("address = 127.0.0.1\nport = 0\nbacklog = 40\n");
    echod.daemon.wait_for(ready_pattern(echod.port, 40));
    BOOST_TEST(ss_backlog(echod.port) == 40);
    expect_echo(queued.get(), "same listener");
}

BOOST_AUTO_TEST_CASE(a_bad_edit_is_rejected_and_the_old_port_keeps_serving)
{
    Echod echod("");
    echod.reload("address = 127.0.0.1\nport = 99999\n");
    echod.daemon.wait_for("error: msg=\"reload failed; keeping the running configuration\" error=\"" +
                          echod.config +
                          ":2: key 'port' has value '99999': expected an integer from 0 to 65535\"$");
    UniqueFd fd = connect_tcp("127.0.0.1", echod.port);
    expect_echo(fd.get(), "unchanged");

    // A port that cannot be bound is rejected the same way, with the old listener kept.
    const UniqueFd squatter = listen_loopback();
    const std::uint16_t taken = local_port(squatter.get());
    echod.reload("address = 127.0.0.1\nport = " + std::to_string(taken) + "\n");
    echod.daemon.wait_for("error: msg=\"reload failed; keeping the running configuration\" "
                          "error=\"bind 127.0.0.1:" + std::to_string(taken) + ": Address already in use\"$");
    UniqueFd again = connect_tcp("127.0.0.1", echod.port);
    expect_echo(again.get(), "still unchanged");
    BOOST_TEST(echod.daemon.count("reloaded") == 0u);
}

BOOST_AUTO_TEST_CASE(sigterm_lets_a_live_connection_finish_then_exits_0)
{
    Echod echod("shutdown_timeout = 10s\n");
    UniqueFd fd = connect_tcp("127.0.0.1", echod.port);
    expect_echo(fd.get(), "first");
    echod.daemon.signal(SIGTERM);
    echod.daemon.wait_for("notice: msg=\"stopping\" signal=SIGTERM active=1 shutdown_timeout=10s");
    BOOST_TEST(connection_refused("127.0.0.1", echod.port));  // listeners closed at once
    expect_echo(fd.get(), "still served while draining");
    const auto closed_at = Clock::now();
    fd.reset();
    BOOST_TEST(echod.daemon.wait_exit(5s) == 0);
    BOOST_TEST((Clock::now() - closed_at < 3s));
    BOOST_TEST(echod.daemon.count("bytes_in=32 bytes_out=32 .*reason=eof$") == 1u, echod.daemon.log());
    echod.daemon.wait_for("notice: msg=\"stopped\" served=1$");
}

BOOST_AUTO_TEST_CASE(sigterm_closes_what_is_left_at_shutdown_timeout)
{
    Echod echod("shutdown_timeout = 1s\n");
    UniqueFd fd = connect_tcp("127.0.0.1", echod.port);
    expect_echo(fd.get(), "never closes");
    const auto start = Clock::now();
    echod.daemon.signal(SIGTERM);
    BOOST_TEST(wait_closed(fd.get(), 5s));
    BOOST_TEST(echod.daemon.wait_exit(5s) == 0);
    const auto took = Clock::now() - start;
    BOOST_TEST((took >= 900ms && took < 4s));
    BOOST_TEST(echod.daemon.count("bytes_in=12 bytes_out=12 .*reason=shutdown$") == 1u, echod.daemon.log());
}

BOOST_AUTO_TEST_CASE(sigint_stops_at_once_and_exits_0)
{
    Echod echod("shutdown_timeout = 60s\n");
    UniqueFd fd = connect_tcp("127.0.0.1", echod.port);
    expect_echo(fd.get(), "quick");
    const auto start = Clock::now();
    echod.daemon.signal(SIGINT);
    BOOST_TEST(wait_closed(fd.get(), 5s));
    BOOST_TEST(echod.daemon.wait_exit(5s) == 0);
    BOOST_TEST((Clock::now() - start < 2s));
    echod.daemon.wait_for("msg=\"stopping\" signal=SIGINT active=1 closing=now");
    BOOST_TEST(echod.daemon.count("reason=shutdown$") == 1u);
}

BOOST_AUTO_TEST_CASE(children_ignore_signals_meant_for_the_master_and_drain_on_sigterm)
{
    Echod echod("shutdown_timeout = 1s\n");
    UniqueFd fd = connect_tcp("127.0.0.1", echod.port);
    expect_echo(fd.get(), "hello");
    const std::vector<pid_t> children = child_pids(echod.daemon.pid());
    BOOST_TEST_REQUIRE(children.size() == 1u);
    // As `systemctl kill -s HUP` or a terminal would send them to every process.
    ::kill(children[0], SIGHUP);
    ::kill(children[0], SIGUSR1);
    ::kill(children[0], SIGUSR2);
    expect_echo(fd.get(), "unmoved");
    // SIGTERM to a child: it goes on for shutdown_timeout, then closes (a cgroup-wide
    // SIGTERM therefore still drains).
    const auto start = Clock::now();
    ::kill(children[0], SIGTERM);
    expect_echo(fd.get(), "draining");
    BOOST_TEST(wait_closed(fd.get(), 5s));
    BOOST_TEST((Clock::now() - start >= 900ms));
    echod.daemon.wait_for("bytes_in=20 bytes_out=20 .*reason=shutdown$");
}

BOOST_AUTO_TEST_CASE(pid_file_is_written_and_removed)
{
    TempDir dir;
    const std::string pid_file = dir.path() + "/echod.pid";
    {
        Echod echod("pid_file = " + pid_file + "\n");
        std::ifstream in(pid_file);
        pid_t written = 0;
        in >> written;
        BOOST_TEST(written == echod.daemon.pid());
        echod.daemon.signal(SIGTERM);
        BOOST_TEST(echod.daemon.wait_exit(5s) == 0);
    }
    BOOST_TEST(!std::ifstream(pid_file).good());
}

BOOST_AUTO_TEST_CASE(a_reload_that_repeats_an_address_keeps_its_listener)
{
    // Regression: the kept listener was taken twice and closed by the failed second listen().
    Echod echod("");
    echod.reload("address = 127.0.0.1\naddress = 127.0.0.1\nport = 0\nbacklog = 20\n");
    echod.daemon.wait_for(ready_pattern(echod.port, 20));
    UniqueFd fd = connect_tcp("127.0.0.1", echod.port);
    expect_echo(fd.get(), "listener kept");
}

BOOST_AUTO_TEST_CASE(a_reload_from_port_0_to_the_port_it_bound_keeps_the_listener)
{
    // Regression: the kept listener was matched on the configured port (0), so echod tried
    // to bind the port it already held: "reload failed: bind 127.0.0.1:P: Address already
    // in use".
    Echod echod("backlog = 16\n");
    UniqueFd before = connect_tcp("127.0.0.1", echod.port);
    expect_echo(before.get(), "opened before the reload");
    echod.reload("address = 127.0.0.1\nport = " + std::to_string(echod.port) + "\nbacklog = 24\n");
    echod.daemon.wait_for(ready_pattern(echod.port, 24));
    BOOST_TEST(echod.daemon.count("reload failed") == 0u, echod.daemon.log());
    BOOST_TEST(ss_backlog(echod.port) == 24);  // the same socket, with the new backlog
    expect_echo(before.get(), "still echoing after the reload");
    UniqueFd after = connect_tcp("127.0.0.1", echod.port);
    expect_echo(after.get(), "a new connection");
}

BOOST_AUTO_TEST_CASE(a_respelled_address_is_the_same_listener)
{
    Echod echod("address = ::1\nport = 0\n");
    UniqueFd before = connect_tcp("::1", echod.port);
    echod.reload("address = [::1]\nport = 0\nbacklog = 64\n");
    const std::string p = std::to_string(echod.port);
    echod.daemon.wait_for("notice: msg=\"reloaded\" listening=\\[::1\\]:" + p + " port=" + p + " backlog=64 ");
    expect_echo(before.get(), "same socket");
}

BOOST_AUTO_TEST_CASE(after_dropping_root_the_pid_file_is_still_removed_from_a_directory_it_owns,
                     *boost::unit_test::precondition(RunningAsRoot()))
{
    TempDir dir;
    BOOST_TEST_REQUIRE(::chown(dir.path().c_str(), 65534, 65534) == 0);
    const std::string pid_file = dir.path() + "/echod.pid";
    Echod echod("user = nobody\npid_file = " + pid_file + "\n");
    BOOST_TEST(std::ifstream(pid_file).good());
    echod.daemon.signal(SIGTERM);
    BOOST_TEST(echod.daemon.wait_exit(5s) == 0);
    BOOST_TEST(!std::ifstream(pid_file).good());
}

namespace {

// A connection opened before a reload that lengthens shutdown_timeout drains for the value
// it started with, not the new one, when only the master gets SIGTERM; one opened after it
// gets the new value. (Fork-mode children were never told to drain: the master stopped
// them at its own, new, deadline.)
void each_connection_drains_for_the_shutdown_timeout_it_started_with(const std::string& mode)
{
    Echod echod(mode + "shutdown_timeout = 1s\n");
    UniqueFd before = connect_tcp("127.0.0.1", echod.port);
    expect_echo(before.get(), "opened with 1s");
    const std::vector<pid_t> old_children = child_pids(echod.daemon.pid());
    echod.reload(with_loopback_defaults(mode + "shutdown_timeout = 10s\n"));
    echod.daemon.wait_for("msg=\"reloaded\" listening=");
    // Prefork: only the busy child may be left of those forked with the old settings.
    BOOST_TEST_REQUIRE(wait_children_gone(echod.daemon.pid(), old_children, 1));
    UniqueFd after = connect_tcp("127.0.0.1", echod.port);
    expect_echo(after.get(), "opened with 10s");
    const auto stop = Clock::now();
    echod.daemon.signal(SIGTERM);
    echod.daemon.wait_for("msg=\"stopping\" signal=SIGTERM active=2 shutdown_timeout=10s");
    BOOST_TEST(wait_closed(before.get(), 5s));
    const auto closed_after = Clock::now() - stop;
    BOOST_TEST((closed_after >= 900ms && closed_after < 3s),
               "closed "
                   << std::chrono::duration_cast<std::chrono::milliseconds>(closed_after).count()
                   << " ms after SIGTERM");
    echod.daemon.wait_for("msg=\"connection closed\" .* reason=shutdown$");
    expect_echo(after.get(), "still draining");  // its own 10 s are not over
    ::shutdown(after.get(), SHUT_WR);
    BOOST_TEST(wait_closed(after.get()));
    BOOST_TEST(echod.daemon.wait_exit() == 0);
    BOOST_TEST(echod.daemon.count("reason=eof") == 1u);
}

}  // namespace

BOOST_AUTO_TEST_CASE(fork_each_connection_drains_for_the_shutdown_timeout_it_started_with)
{
    each_connection_drains_for_the_shutdown_timeout_it_started_with("mode = fork\n");
}

BOOST_AUTO_TEST_CASE(prefork_each_connection_drains_for_the_shutdown_timeout_it_started_with)
{
    each_connection_drains_for_the_shutdown_timeout_it_started_with(
        "mode = prefork\nmin_spare_children = 2\n");
}

// A connection from a balancer whose PROXY header is still on its way at SIGTERM is a live
// connection like any other: served once the header is complete, then drained.
void a_header_in_flight_at_sigterm_is_served_then_drained(const std::string& mode)
{
    Echod echod(mode + "proxy_protocol = v2\nproxy_trusted = 127.0.0.1\nshutdown_timeout = 2s\n");
    UniqueFd conn = connect_tcp("127.0.0.1", echod.port);
    const std::string header = proxy_v2_header("203.0.113.4", 4004, "127.0.0.1", echod.port);
    send_all(conn.get(), header.substr(0, 8));
    // Its child took it and waits for the rest once the status line counts it (prefork: once
    // the master has read the child's `waiting` report).
    bool taken = false;
    for (int i = 0; i < 100 && !taken; ++i) {
        const std::size_t from = echod.daemon.line_count();
        echod.daemon.signal(SIGUSR1);
        taken = echod.daemon.wait_for("msg=\"status\" active=", 5s, from).find("msg=\"status\" active=1 ") !=
                std::string::npos;
        if (!taken) {
            std::this_thread::sleep_for(10ms);
        }
    }
    BOOST_TEST_REQUIRE(taken);
    const auto stop = Clock::now();
    echod.daemon.signal(SIGTERM);
    echod.daemon.wait_for("msg=\"stopping\" signal=SIGTERM active=1 ");
    send_all(conn.get(), header.substr(8));
    expect_echo(conn.get(), "sent after the stop began");
    BOOST_TEST(wait_closed(conn.get(), 5s));
    const auto closed_after = Clock::now() - stop;
    BOOST_TEST((closed_after >= 1500ms && closed_after < 4s),
               "closed "
                   << std::chrono::duration_cast<std::chrono::milliseconds>(closed_after).count()
                   << " ms after SIGTERM");
    BOOST_TEST(echod.daemon.wait_exit() == 0);
    BOOST_TEST(echod.daemon.count("msg=\"connection closed\" peer=203\\.0\\.113\\.4:4004 via=.* "
                                  "reason=shutdown$") == 1u);
}
BOOST_AUTO_TEST_CASE(fork_a_proxy_header_in_flight_at_sigterm_is_served_then_drained)
{
    a_header_in_flight_at_sigterm_is_served_then_drained("mode = fork\n");
}
BOOST_AUTO_TEST_CASE(prefork_a_proxy_header_in_flight_at_sigterm_is_served_then_drained)
{
    a_header_in_flight_at_sigterm_is_served_then_drained("mode = prefork\n");
}

// Clients the kernel accepted but echod had not taken yet when SIGTERM came are served,
// not reset by the closing listener: a balancer cannot retry a connection that was
// established. The master (and in prefork mode its spare) is stopped while 100 clients
// connect, so that they wait in the accept queue; more than the master accepts in one pass.
void connections_queued_at_sigterm_are_served(const std::string& mode)
{
    Echod echod(mode + "shutdown_timeout = 5s\nbacklog = 256\nmax_per_source = 0\n");
    const pid_t master = echod.daemon.pid();
    std::vector<pid_t> stopped = child_pids(master);
    stopped.push_back(master);
    for (pid_t pid : stopped) {
        BOOST_TEST_REQUIRE(::kill(pid, SIGSTOP) == 0);
    }
    std::vector<UniqueFd> queued;
    for (int i = 0; i < 100; ++i) {
        queued.push_back(connect_tcp("127.0.0.1", echod.port));
        send_all(queued.back().get(), "queued " + std::to_string(i) + ";");
    }
    echod.daemon.signal(SIGTERM);  // pending until the master runs again
    for (pid_t pid : stopped) {
        ::kill(pid, SIGCONT);
    }
    for (int i = 0; i < 100; ++i) {
        const std::string sent = "queued " + std::to_string(i) + ";";
        BOOST_TEST(recv_exact(queued[i].get(), sent.size()) == sent);  // fails on a reset
        ::shutdown(queued[i].get(), SHUT_WR);
    }
    BOOST_TEST(echod.daemon.wait_exit() == 0);
    BOOST_TEST(echod.daemon.closed_count() == 100u);
}
BOOST_AUTO_TEST_CASE(fork_connections_queued_at_sigterm_are_served)
{
    connections_queued_at_sigterm_are_served("mode = fork\n");
}
BOOST_AUTO_TEST_CASE(prefork_connections_queued_at_sigterm_are_served)
{
    connections_queued_at_sigterm_are_served(
        "mode = prefork\nmin_spare_children = 1\nmax_spare_children = 1\n");
}

BOOST_AUTO_TEST_CASE(a_second_echod_with_the_same_pid_file_exits_71_and_leaves_the_first_ones_file)
{
    // Regression: the second overwrote the file, and its exit then deleted the file of the
    // echod still running.
    TempDir dir;
    const std::string pid_file = dir.path() + "/echod.pid";
    Echod first("pid_file = " + pid_file + "\n");
    BOOST_TEST_REQUIRE(pid_in_file(pid_file) == first.daemon.pid());
    const std::string refused = "error: msg=\"cannot start\" error=\"another echod is running with pid_file " +
                                pid_file + " (pid " + std::to_string(first.daemon.pid()) + ")";

    // On a port of its own it could bind; it must not run all the same.
    const std::string own_port = dir.write("own-port.conf", "address = 127.0.0.1\nport = 0\n"
                                                            "pid_file = " + pid_file + "\n");
    Daemon second({"--config", own_port});
    BOOST_TEST(second.wait_exit(10s) == 71);
    BOOST_TEST(contains(second.log(), refused), second.log());
    BOOST_TEST(second.count("msg=\"ready\" ") == 0u);
    BOOST_TEST(pid_in_file(pid_file) == first.daemon.pid());

    // The same file and port as the first: the pid file is checked before binding, so the
    // message says what is wrong, not "Address already in use".
    const std::string same_port = dir.write(
        "same-port.conf", "address = 127.0.0.1\nport = " + std::to_string(first.port) +
                              "\npid_file = " + pid_file + "\n");
    const CommandResult same = run_command({echod_path(), "--config", same_port}, "", 10s);
    BOOST_TEST(same.status == 71);
    BOOST_TEST(contains(same.err, refused), same.err);
    BOOST_TEST(pid_in_file(pid_file) == first.daemon.pid());

    UniqueFd fd = connect_tcp("127.0.0.1", first.port);
    expect_echo(fd.get(), "the first echod is untouched");
    fd.reset();
    first.daemon.signal(SIGTERM);
    BOOST_TEST(first.daemon.wait_exit(5s) == 0);
    BOOST_TEST(!std::ifstream(pid_file).good());  // its own file, removed by its own exit
}

BOOST_AUTO_TEST_CASE(a_fifo_at_the_pid_file_path_fails_the_start_at_once)
{
    // Regression: opening it for writing waited for a reader, for ever, with the port bound
    // and SIGTERM blocked.
    TempDir dir;
    const std::string pid_file = dir.path() + "/echod.pid";
    BOOST_TEST_REQUIRE(::mkfifo(pid_file.c_str(), 0644) == 0);
    const auto start = Clock::now();
    const CommandResult result = start_with_pid_file(dir, pid_file);
    BOOST_TEST(result.status == 71, "msg=\"status\" " << result.status << "; " << result.err);
    BOOST_TEST((Clock::now() - start < 3s));
    BOOST_TEST(contains(result.err, "error: msg=\"cannot start\" error=\"pid_file " + pid_file +
                                        " is a FIFO, not a regular file"), result.err);
    struct stat after {};
    BOOST_TEST((::lstat(pid_file.c_str(), &after) == 0 && S_ISFIFO(after.st_mode)));  // left alone
}

BOOST_AUTO_TEST_CASE(a_symlink_at_the_pid_file_path_is_refused_and_its_target_untouched)
{
    TempDir dir;
    const std::string target = dir.write("target", "precious\n");
    const std::string pid_file = dir.path() + "/echod.pid";
    BOOST_TEST_REQUIRE(::symlink(target.c_str(), pid_file.c_str()) == 0);
    const CommandResult result = start_with_pid_file(dir, pid_file);
    BOOST_TEST(result.status == 71);
    BOOST_TEST(contains(result.err, "error: msg=\"cannot start\" error=\"pid_file " + pid_file +
                                        " is a symbolic link; echod does not follow one"),
               result.err);
    std::ifstream in(target);
    const std::string content((std::istreambuf_iterator<char>(in)), {});
    BOOST_TEST(content == "precious\n");
    struct stat after {};
    BOOST_TEST((::lstat(pid_file.c_str(), &after) == 0 && S_ISLNK(after.st_mode)));
}

BOOST_AUTO_TEST_CASE(children_do_not_hold_the_pid_file_lock_after_their_master_dies)
{
    // A master killed with SIGKILL leaves its file behind, and busy children that drain for
    // shutdown_timeout. They must not keep the lock (the descriptor is close-on-exec, and
    // every child closes what it inherited), or the next echod could not start.
    for (const std::string mode : {"fork", "prefork"}) {
        BOOST_TEST_CONTEXT("mode = " << mode)
        {
            TempDir dir;
            const std::string pid_file = dir.path() + "/echod.pid";
            const std::string settings = "mode = " + mode + "\nmin_spare_children = 1\n"
                                         "shutdown_timeout = 3s\npid_file = " + pid_file + "\n";
            auto first = std::make_unique<Echod>(settings);
            UniqueFd live = connect_tcp("127.0.0.1", first->port);
            expect_echo(live.get(), "busy child");
            // A child holds every descriptor between its fork and its close_inherited (a
            // spare forked a moment ago may be there): only one that keeps it fails. /proc
            // is read every 10 ms, for 2 s at most.
            for (pid_t child : child_pids(first->daemon.pid())) {
                const std::string fds = "/proc/" + std::to_string(child) + "/fd";
                auto holds_pid_file = [&] {
                    std::error_code error;
                    for (const auto& entry : std::filesystem::directory_iterator(fds, error)) {
                        std::error_code ignored;
                        if (std::filesystem::read_symlink(entry.path(), ignored) == pid_file) {
                            return true;
                        }
                    }
                    return false;
                };
                const auto deadline = Clock::now() + 2s;
                while (holds_pid_file() && Clock::now() < deadline) {
                    std::this_thread::sleep_for(10ms);
                }
                BOOST_TEST(!holds_pid_file(), "child " << child << " holds the pid file");
            }
            first->daemon.signal(SIGKILL);
            // Its log stays open while the orphan drains: wait for the exit, not for that.
            BOOST_TEST_REQUIRE(first->daemon.wait_exit(1s) == 128 + SIGKILL);
            BOOST_TEST(pid_in_file(pid_file) == first->daemon.pid());  // stale, unlocked
            Echod second(settings);
            BOOST_TEST(pid_in_file(pid_file) == second.daemon.pid());
            expect_echo(live.get(), "the orphan still drains");
        }
    }
}

BOOST_AUTO_TEST_CASE(a_pid_file_of_another_user_or_with_another_name_is_refused,
                     *boost::unit_test::precondition(RunningAsRoot()))
{
    // Made beforehand by another user in a shared directory, the file could be locked (so
    // echod never starts) or rewritten by that user; a hard link is a second name for a
    // file echod would truncate.
    TempDir dir;
    const std::string pid_file = dir.write("echod.pid", "");
    BOOST_TEST_REQUIRE(::chown(pid_file.c_str(), 65534, 65534) == 0);
    const CommandResult foreign = start_with_pid_file(dir, pid_file);
    BOOST_TEST(foreign.status == 71);
    BOOST_TEST(contains(foreign.err, "msg=\"cannot start\" error=\"pid_file " + pid_file +
                                         " belongs to uid 65534, not to echod's uid 0"),
               foreign.err);

    BOOST_TEST_REQUIRE(::chown(pid_file.c_str(), 0, 0) == 0);
    const std::string other = dir.path() + "/precious";
    BOOST_TEST_REQUIRE(::link(pid_file.c_str(), other.c_str()) == 0);
    const CommandResult linked = start_with_pid_file(dir, pid_file);
    BOOST_TEST(linked.status == 71);
    BOOST_TEST(contains(linked.err, "msg=\"cannot start\" error=\"pid_file " + pid_file +
                                        " has 2 names (hard links)"),
               linked.err);
}
