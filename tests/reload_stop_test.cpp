// The signal contract on the real echod: SIGHUP reload, SIGTERM graceful stop, SIGINT fast
// stop, and what children do with signals meant for the master.
#define BOOST_TEST_MODULE reload_stop
#include "harness.hpp"

#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <fstream>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {


std::string ready_pattern(std::uint16_t port, int backlog)
{
    const std::string p = std::to_string(port);
    return "notice: reloaded listening=127.0.0.1:" + p + " port=" + p +
           " backlog=" + std::to_string(backlog) + " ";
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
    echod.daemon.wait_for("error: reload failed: " + echod.config +
                          ":2: key 'port' has value '99999': expected an integer from 0 to 65535; "
                          "keeping the running configuration");
    UniqueFd fd = connect_tcp("127.0.0.1", echod.port);
    expect_echo(fd.get(), "unchanged");

    // A port that cannot be bound is rejected the same way, with the old listener kept.
    const UniqueFd squatter = listen_loopback();
    const std::uint16_t taken = local_port(squatter.get());
    echod.reload("address = 127.0.0.1\nport = " + std::to_string(taken) + "\n");
    echod.daemon.wait_for("error: reload failed: bind 127.0.0.1:" + std::to_string(taken) +
                          ": Address already in use; keeping the running configuration");
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
    echod.daemon.wait_for("notice: stopping signal=SIGTERM active=1 shutdown_timeout=10s");
    BOOST_TEST(connection_refused("127.0.0.1", echod.port));  // listeners closed at once
    expect_echo(fd.get(), "still served while draining");
    const auto closed_at = Clock::now();
    fd.reset();
    BOOST_TEST(echod.daemon.wait_exit(5s) == 0);
    BOOST_TEST((Clock::now() - closed_at < 3s));
    BOOST_TEST(echod.daemon.count("bytes_in=32 bytes_out=32 .*reason=eof$") == 1u, echod.daemon.log());
    echod.daemon.wait_for("notice: stopped served=1$");
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
    echod.daemon.wait_for("stopping signal=SIGINT active=1 closing now");
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

BOOST_AUTO_TEST_CASE(a_respelled_address_is_the_same_listener)
{
    Echod echod("address = ::1\nport = 0\n");
    UniqueFd before = connect_tcp("::1", echod.port);
    echod.reload("address = [::1]\nport = 0\nbacklog = 64\n");
    const std::string p = std::to_string(echod.port);
    echod.daemon.wait_for("notice: reloaded listening=\\[::1\\]:" + p + " port=" + p + " backlog=64 ");
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
