// Limits on the real echod: max_children queues, max_per_source refuses, a failing fork
// drops one client and backs off, running out of descriptors pauses accepting.
#define BOOST_TEST_MODULE limits
#include "harness.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(at_max_children_clients_wait_in_the_backlog_and_are_served_in_turn)
{
    Echod echod("max_children = 2\nmax_per_source = 0\nmax_per_network = 0\n");
    std::vector<UniqueFd> clients;
    for (int i = 0; i < 5; ++i) {
        clients.push_back(connect_tcp("127.0.0.1", echod.port));
        send_all(clients.back().get(), "client" + std::to_string(i));
    }
    BOOST_TEST(recv_exact(clients[0].get(), 7) == "client0");
    BOOST_TEST(recv_exact(clients[1].get(), 7) == "client1");
    echod.daemon.wait_for("msg=\"limit reached\" limit=max_children max_children=2 effect=\"new clients wait in the listen backlog\"");
    // The other three are connected, unanswered and not closed: they wait.
    for (int i = 2; i < 5; ++i) {
        BOOST_TEST(nothing_arrives(clients[i].get(), 300ms));
    }
    for (int i = 2; i < 5; ++i) {
        clients[i - 2].reset();  // a slot frees up: the next waiting client is served
        BOOST_TEST(recv_exact(clients[i].get(), 7) == "client" + std::to_string(i));
    }
    clients.clear();
    echod.daemon.wait_for("msg=\"limit cleared\" limit=max_children max_children=2 duration_ms=\\d+$");
    echod.daemon.wait_count("msg=\"connection closed\" .* reason=eof$", 5);
    echod.daemon.signal(SIGUSR1);
    echod.daemon.wait_for("msg=\"status\" active=0 served=5 refused=0 ");
    BOOST_TEST(echod.daemon.count("msg=\"limit reached\" limit=max_children") == 1u);
}

BOOST_AUTO_TEST_CASE(a_backlog_below_max_children_is_noted_at_start_and_at_reload)
{
    // The kernel queues backlog + 1 clients; beyond that it drops or resets them, and echod
    // never sees them. So it says so once, where an operator looks: at start and at reload.
    const std::string note = "notice: msg=\"backlog below max_children; a longer burst may be refused\" "
                             "backlog=4 max_children=8 queued_at_most=5$";
    Echod echod("backlog = 4\nmax_children = 8\n");
    echod.daemon.wait_for(note);
    BOOST_TEST(echod.daemon.count(note) == 1u);

    echod.reload("address = 127.0.0.1\nport = 0\nbacklog = 8\nmax_children = 8\n");
    echod.daemon.wait_for("notice: msg=\"reloaded\" .* backlog=8 max_children=8 ");
    BOOST_TEST(echod.daemon.count("backlog below max_children") == 1u);  // not below: nothing said

    echod.reload("address = 127.0.0.1\nport = 0\nbacklog = 8\nmax_children = 20\n");
    echod.daemon.wait_for("notice: msg=\"reloaded\" .* backlog=8 max_children=20 ");
    BOOST_TEST(echod.daemon.count("notice: msg=\"backlog below max_children; a longer burst may be refused\" "
                                  "backlog=8 max_children=20 queued_at_most=9$") == 1u, echod.daemon.log());
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
    echod.daemon.wait_for("msg=\"limit reached\" limit=max_per_source max_per_source=2 source=127.0.0.1 effect=\"further connections from it are closed\"");
    BOOST_TEST(echod.daemon.count("msg=\"limit reached\" limit=max_per_source") == 1u);

    // Its slot released, the episode ends with its count and the source is served again.
    a1.reset();
    echod.daemon.wait_for("msg=\"limit cleared\" limit=max_per_source max_per_source=2 source=127.0.0.1 refused=2 duration_ms=\\d+$");
    UniqueFd a3 = connect_tcp("127.0.0.1", echod.port, "127.0.0.1");
    expect_echo(a3.get(), "a3");
    echod.daemon.signal(SIGUSR1);
    echod.daemon.wait_for("msg=\"status\" active=3 served=1 refused=2 ");
}

BOOST_AUTO_TEST_CASE(a_failing_fork_drops_one_client_backs_off_and_recovers,
                     *boost::unit_test::precondition(RunningAsRoot()))
{
    // An unprivileged uid may have 3 processes: the master and two children.
    Echod echod("max_children = 10\nmax_per_source = 0\nmax_per_network = 0\n", {},
                {"prlimit", "--nproc=3", "setpriv", "--reuid=64123", "--regid=64123",
                 "--clear-groups"});
    UniqueFd c1 = connect_tcp("127.0.0.1", echod.port);
    UniqueFd c2 = connect_tcp("127.0.0.1", echod.port);
    expect_echo(c1.get(), "one");
    expect_echo(c2.get(), "two");
    std::vector<UniqueFd> queued;
    for (int i = 0; i < 4; ++i) {
        queued.push_back(connect_tcp("127.0.0.1", echod.port));
        send_all(queued.back().get(), "queued");
    }
    // The first is dropped; the backoff (100 ms, doubling) keeps the rest queued meanwhile,
    // where a loop that went on accepting would drop them all in the same instant.
    BOOST_TEST(wait_closed(queued[0].get(), 5s));
    std::size_t closed_too = 0;
    for (int i = 1; i < 4; ++i) {
        closed_too += nothing_arrives(queued[i].get(), 0ms) ? 0 : 1;
    }
    BOOST_TEST(closed_too < 3u, closed_too << " more queued clients were dropped at once");
    echod.daemon.wait_for("warning: msg=\"limit reached\" limit=fork error=\"Resource temporarily unavailable\" "
                          "effect=\"dropping clients and backing off\"$");
    c1.reset();
    c2.reset();
    // Processes free up: the clients still queued are served again (past the two slots
    // the uid has, one may be dropped in its turn); none is left hanging.
    std::size_t served = 0;
    for (int i = 1; i < 4; ++i) {
        pollfd readable{queued[i].get(), POLLIN, 0};
        BOOST_TEST_REQUIRE(::poll(&readable, 1, 10000) == 1, "queued client " << i << " hangs");
        char echoed[6];
        const ssize_t n = ::recv(queued[i].get(), echoed, sizeof echoed, 0);
        served += n == 6 && std::string(echoed, 6) == "queued" ? 1 : 0;
    }
    BOOST_TEST(served >= 1u);
    const std::string cleared =
        echod.daemon.wait_for("msg=\"limit cleared\" limit=fork failed=\\d+ duration_ms=\\d+$");
    BOOST_TEST(echod.daemon.count("msg=\"limit reached\" limit=fork") == 1u);
    BOOST_TEST_MESSAGE("FIGURE fork failing (RLIMIT_NPROC=3 for an unprivileged uid): one "
                       "warning for the burst, " << served << " of 3 queued clients served once "
                       "processes freed up; " << cleared.substr(cleared.find("msg=\"limit cleared\"")));
}

BOOST_AUTO_TEST_CASE(out_of_descriptors_pauses_accepting_without_spinning)
{
    Echod echod("max_per_source = 0\nmax_per_network = 0\n");
    const std::string pid = std::to_string(echod.daemon.pid());
    const std::string in_use = std::to_string(open_fd_count(echod.daemon.pid()));
    // Only the soft limit moves: raising it back needs no privilege.
    BOOST_TEST_REQUIRE(run_command({"prlimit", "--pid", pid, "--nofile=" + in_use + ":"}).status == 0);
    UniqueFd waiting = connect_tcp("127.0.0.1", echod.port);
    send_all(waiting.get(), "patience");
    echod.daemon.wait_for("warning: msg=\"limit reached\" limit=accept4 error=\"Too many open files\" "
                          "effect=\"accepting paused\"$");
    const double cpu_before = cpu_seconds(echod.daemon.pid());
    BOOST_TEST(nothing_arrives(waiting.get(), 1500ms));  // queued, neither served nor dropped
    const double cpu_used = cpu_seconds(echod.daemon.pid()) - cpu_before;
    BOOST_TEST(cpu_used < 0.15, "the master used " << cpu_used << " s of CPU in 1.5 s");
    BOOST_TEST_REQUIRE(run_command({"prlimit", "--pid", pid, "--nofile=1024:"}).status == 0);
    BOOST_TEST(recv_exact(waiting.get(), 8, 5s) == "patience");
    echod.daemon.wait_for("msg=\"limit cleared\" limit=accept4 failed=\\d+ duration_ms=\\d+$");
    BOOST_TEST_MESSAGE("FIGURE out of descriptors: master CPU " << cpu_used
                       << " s over 1.5 s of paused accepting; the queued client was served "
                          "once the limit rose");
}
