// Limits on the real echod: max_children queues, max_per_source refuses, a failing fork
// drops one client and backs off, running out of descriptors pauses accepting.
#define BOOST_TEST_MODULE limits
#include "harness.hpp"

#include <signal.h>

#include <boost/test/unit_test.hpp>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {

void expect_echo(int fd, const std::string& message, std::chrono::milliseconds timeout = 10s)
{
    send_all(fd, message);
    BOOST_TEST(recv_exact(fd, message.size(), timeout) == message);
}

}  // namespace

BOOST_AUTO_TEST_CASE(at_max_children_clients_wait_in_the_backlog_and_are_served_in_turn)
{
    Echod echod("max_children = 2\nmax_per_source = 0\n");
    std::vector<UniqueFd> clients;
    for (int i = 0; i < 5; ++i) {
        clients.push_back(connect_tcp("127.0.0.1", echod.port));
        send_all(clients.back().get(), "client" + std::to_string(i));
    }
    BOOST_TEST(recv_exact(clients[0].get(), 7) == "client0");
    BOOST_TEST(recv_exact(clients[1].get(), 7) == "client1");
    echod.daemon.wait_for("limit reached: max_children=2; new clients wait in the listen backlog");
    // The other three are connected, unanswered and not closed: they wait.
    for (int i = 2; i < 5; ++i) {
        BOOST_TEST(nothing_arrives(clients[i].get(), 300ms));
    }
    for (int i = 2; i < 5; ++i) {
        clients[i - 2].reset();  // a slot frees up: the next waiting client is served
        BOOST_TEST(recv_exact(clients[i].get(), 7) == "client" + std::to_string(i));
    }
    clients.clear();
    echod.daemon.wait_for("limit cleared: max_children=2 duration_ms=\\d+$");
    echod.daemon.wait_count("connection closed .* reason=eof$", 5);
    echod.daemon.signal(SIGUSR1);
    echod.daemon.wait_for("status active=0 served=5 refused=0 ");
    BOOST_TEST(echod.daemon.count("limit reached: max_children") == 1u);
}

BOOST_AUTO_TEST_CASE(max_per_source_refuses_the_extra_one_and_serves_other_sources)
{
    Echod echod("max_per_source = 2\n");
    UniqueFd a1 = connect_tcp("127.0.0.1", echod.port, "127.0.0.1");
    UniqueFd a2 = connect_tcp("127.0.0.1", echod.port, "127.0.0.1");
    expect_echo(a1.get(), "a1");
    expect_echo(a2.get(), "a2");
    // The third from the same address is closed at once with nothing written.
    for (int i = 0; i < 2; ++i) {
        UniqueFd extra = connect_tcp("127.0.0.1", echod.port, "127.0.0.1");
        const auto start = Clock::now();
        BOOST_TEST(wait_closed(extra.get(), 2s));
        BOOST_TEST((Clock::now() - start < 1s));
    }
    UniqueFd b1 = connect_tcp("127.0.0.1", echod.port, "127.0.0.2");
    expect_echo(b1.get(), "other source");
    echod.daemon.wait_for("limit reached: max_per_source=2 source=127.0.0.1; further connections from it are closed");
    BOOST_TEST(echod.daemon.count("limit reached: max_per_source") == 1u);

    // Its slot released, the episode ends with its count and the source is served again.
    a1.reset();
    echod.daemon.wait_for("limit cleared: max_per_source=2 source=127.0.0.1 refused=2 duration_ms=\\d+$");
    UniqueFd a3 = connect_tcp("127.0.0.1", echod.port, "127.0.0.1");
    expect_echo(a3.get(), "a3");
    echod.daemon.signal(SIGUSR1);
    echod.daemon.wait_for("status active=3 served=1 refused=2 ");
}

BOOST_AUTO_TEST_CASE(a_failing_fork_drops_one_client_backs_off_and_recovers,
                     *boost::unit_test::precondition(RunningAsRoot()))
{
    // An unprivileged uid may have 3 processes: the master and two children.
    Echod echod("max_children = 10\nmax_per_source = 0\n", {},
                {"prlimit", "--nproc=3", "setpriv", "--reuid=64123", "--regid=64123",
                 "--clear-groups"});
    UniqueFd c1 = connect_tcp("127.0.0.1", echod.port);
    UniqueFd c2 = connect_tcp("127.0.0.1", echod.port);
    expect_echo(c1.get(), "one");
    expect_echo(c2.get(), "two");
    UniqueFd dropped = connect_tcp("127.0.0.1", echod.port);
    send_all(dropped.get(), "three");
    BOOST_TEST(wait_closed(dropped.get(), 5s));
    echod.daemon.wait_for("warning: limit reached: fork failed \\(Resource temporarily unavailable\\); dropping clients and backing off");
    c1.reset();
    c2.reset();
    echod.daemon.wait_count("connection closed .* reason=eof$", 2);
    UniqueFd later = connect_tcp("127.0.0.1", echod.port);
    expect_echo(later.get(), "served again", 10s);
    echod.daemon.wait_for("limit cleared: fork failed=\\d+ clients dropped duration_ms=\\d+$");
    BOOST_TEST(echod.daemon.count("limit reached: fork failed") == 1u);
}

BOOST_AUTO_TEST_CASE(out_of_descriptors_pauses_accepting_without_spinning)
{
    Echod echod("max_per_source = 0\n");
    const std::string pid = std::to_string(echod.daemon.pid());
    const std::string in_use = std::to_string(open_fd_count(echod.daemon.pid()));
    // Only the soft limit moves: raising it back needs no privilege.
    BOOST_TEST_REQUIRE(run_command({"prlimit", "--pid", pid, "--nofile=" + in_use + ":"}).status == 0);
    UniqueFd waiting = connect_tcp("127.0.0.1", echod.port);
    send_all(waiting.get(), "patience");
    echod.daemon.wait_for("warning: limit reached: accept4 failed \\(Too many open files\\); accepting paused");
    const double cpu_before = cpu_seconds(echod.daemon.pid());
    BOOST_TEST(nothing_arrives(waiting.get(), 1500ms));  // queued, neither served nor dropped
    const double cpu_used = cpu_seconds(echod.daemon.pid()) - cpu_before;
    BOOST_TEST(cpu_used < 0.15, "the master used " << cpu_used << " s of CPU in 1.5 s");
    BOOST_TEST_REQUIRE(run_command({"prlimit", "--pid", pid, "--nofile=1024:"}).status == 0);
    BOOST_TEST(recv_exact(waiting.get(), 8, 5s) == "patience");
    echod.daemon.wait_for("limit cleared: accept4 failed=\\d+ duration_ms=\\d+$");
}
