// The master's bookkeeping, as plain objects: ChildTable (its live children, the busy and
// spare counts), ClientCounts (per source and per network, and what each child holds) and
// LimitEpisode (when a limit is reached and cleared). No sockets, no processes: fake pids,
// Endpoints and explicit time points.
#define BOOST_TEST_MODULE child_table
#include "common/client_counts.hpp"
#include "daemon/child_table.hpp"
#include "daemon/limit_episode.hpp"
#include "os/address.hpp"
#include "os/master_only.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using echod::Child;
using echod::ChildReport;
using echod::ChildTable;
using echod::ClientCounts;
using echod::Clock;
using echod::Endpoint;
using echod::LimitEpisode;
using echod::SourceKey;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0 = Clock::time_point{} + 1h;

Endpoint endpoint(const std::string& address, std::uint16_t port = 40000)
{
    const std::optional<Endpoint> parsed = echod::parse_endpoint(address, port);
    BOOST_TEST_REQUIRE(parsed.has_value(), address);
    return *parsed;
}

// A prefork child's `accepted` record for `peer`.
echod::ChildReport accepted(pid_t pid, const Endpoint& peer)
{
    echod::ChildReport report;
    report.pid = pid;
    report.kind = echod::ReportKind::accepted;
    return report.with_peer(peer);
}

SourceKey source(const std::string& address)
{
    return echod::source_key(endpoint(address));
}

ChildReport report_from(pid_t pid)
{
    ChildReport report;
    report.pid = pid;
    report.bytes_in = 5;
    report.bytes_out = 5;
    return report;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(child_table)

BOOST_AUTO_TEST_CASE(master_only_memory_is_not_in_a_child_and_the_rest_is)
{
    // What the master writes on every connection (the child table, the Master object) is
    // kept out of its children: fork neither copies it nor write-protects it. A child that
    // read it anyway would die of SIGSEGV; the ordinary heap is still there.
    const echod::MasterOnlyPtr<int> master_only = echod::make_master_only<int>(42);
    std::vector<int, echod::MasterOnlyAllocator<int>> table(1000, 7);
    const std::vector<int> heap(1, 42);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::signal(SIGSEGV, SIG_DFL);  // no test framework (or sanitizer) handler in here
        if (heap[0] != 42) {
            ::_exit(2);
        }
        const volatile int* read = master_only.get();
        ::_exit(*read == 42 ? 0 : 3);
    }
    BOOST_TEST_REQUIRE(pid > 0);
    int status = 0;
    BOOST_TEST_REQUIRE(::waitpid(pid, &status, 0) == pid);
    // Killed by the fault: SIGSEGV, or SIGABRT where AddressSanitizer reports it first
    // (ASAN_OPTIONS=abort_on_error=1 in the sanitized suite).
    BOOST_TEST(WIFSIGNALED(status), "the child read master-only memory: status " << status);
    BOOST_TEST((WIFSIGNALED(status) &&
                (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGABRT)));
    // And the master's own copy is untouched and usable.
    BOOST_TEST(*master_only == 42);
    BOOST_TEST(table[999] == 7);
}

BOOST_AUTO_TEST_CASE(a_fork_mode_child_is_busy_until_taken)
{
    ChildTable table;
    BOOST_TEST(table.empty());
    table.add(100, endpoint("192.0.2.1", 1000), t0, -1);
    table.add(101, endpoint("192.0.2.1", 1001), t0 + 1ms, -1);  // same source, another port
    table.add(102, endpoint("192.0.2.2"), t0 + 2ms, -1);
    BOOST_TEST(table.size() == 3u);
    BOOST_TEST(table.busy() == 3u);
    BOOST_TEST(table.spares() == 0u);
    BOOST_TEST(!table.any_spare().has_value());

    const Child* child = table.find(100);
    BOOST_TEST_REQUIRE(child != nullptr);
    BOOST_TEST(!child->prefork);
    BOOST_TEST(child->busy);
    BOOST_TEST(!child->retiring);
    BOOST_TEST(child->peer.port() == 1000);
    BOOST_TEST((child->started == t0));
    BOOST_TEST(!child->report.has_value());

    const std::optional<Child> taken = table.take(100);
    BOOST_TEST_REQUIRE(taken.has_value());
    BOOST_TEST(taken->peer.port() == 1000);
    BOOST_TEST(table.find(100) == nullptr);
    BOOST_TEST(!table.take(100).has_value());  // taken once
    BOOST_TEST(table.busy() == 2u);

    std::vector<pid_t> pids = table.pids();
    std::sort(pids.begin(), pids.end());
    BOOST_TEST((pids == std::vector<pid_t>{101, 102}));
    table.take(101);
    table.take(102);
    BOOST_TEST(table.empty());
    BOOST_TEST(table.busy() == 0u);
}

BOOST_AUTO_TEST_CASE(a_prefork_child_is_spare_busy_spare_again_then_retires)
{
    ChildTable table;
    table.add_spare(200, -1);
    BOOST_TEST(table.size() == 1u);
    BOOST_TEST(table.spares() == 1u);
    BOOST_TEST(table.busy() == 0u);
    BOOST_TEST((table.any_spare() == std::optional<pid_t>(200)));
    BOOST_TEST(table.find(200)->prefork);
    BOOST_TEST(!table.find(200)->busy);

    table.begin_connection(accepted(200, endpoint("192.0.2.1", 1000)), t0);
    BOOST_TEST(table.spares() == 0u);
    BOOST_TEST(table.busy() == 1u);
    BOOST_TEST(!table.any_spare().has_value());
    BOOST_TEST((table.find(200)->started == t0));

    // Not the last connection: the child is a spare again, and its connection is returned
    std::optional<Child> ended = table.end_connection(200, false);
    BOOST_TEST_REQUIRE(ended.has_value());
    BOOST_TEST(ended->peer.port() == 1000);
    BOOST_TEST(table.busy() == 0u);
    BOOST_TEST(table.spares() == 1u);
    BOOST_TEST(!table.find(200)->retiring);
    BOOST_TEST((table.any_spare() == std::optional<pid_t>(200)));
    BOOST_TEST(!table.end_connection(200, false).has_value());  // no connection to end

    // The last connection: the child exits after it, so it is no spare.
    table.begin_connection(accepted(200, endpoint("192.0.2.2", 1001)), t0 + 1s);
    ended = table.end_connection(200, true);
    BOOST_TEST_REQUIRE(ended.has_value());
    BOOST_TEST(table.busy() == 0u);
    BOOST_TEST(table.spares() == 0u);
    BOOST_TEST(table.find(200)->retiring);
    BOOST_TEST(!table.any_spare().has_value());

    const std::optional<Child> taken = table.take(200);
    BOOST_TEST_REQUIRE(taken.has_value());
    BOOST_TEST(taken->prefork);
    BOOST_TEST(table.empty());
    BOOST_TEST(table.spares() == 0u);
    BOOST_TEST(table.busy() == 0u);
}

BOOST_AUTO_TEST_CASE(a_retired_child_is_no_spare)
{
    ChildTable table;
    table.add_spare(300, -1);
    table.add_spare(301, -1);
    table.retire(300);
    BOOST_TEST(table.spares() == 1u);
    BOOST_TEST((table.any_spare() == std::optional<pid_t>(301)));
    BOOST_TEST(table.find(300)->retiring);
    table.retire(300);  // asked twice: still one spare fewer, not two
    table.retire(999);  // not a child: nothing
    BOOST_TEST(table.spares() == 1u);
    table.take(300);
    BOOST_TEST(table.spares() == 1u);  // it no longer counted
    BOOST_TEST(table.size() == 1u);

    // Retired while busy: still busy for its source until its connection ends, then gone
    // from the spares.
    table.begin_connection(accepted(301, endpoint("192.0.2.1")), t0);
    table.retire(301);
    BOOST_TEST(table.busy() == 1u);
    BOOST_TEST(table.end_connection(301, false).has_value());
    BOOST_TEST(table.busy() == 0u);
    BOOST_TEST(table.spares() == 0u);

    // Retired as a spare, but it had accepted already (the report comes after the signal).
    table.add_spare(302, -1);
    table.retire(302);
    table.begin_connection(accepted(302, endpoint("192.0.2.3")), t0);
    BOOST_TEST(table.busy() == 1u);
    BOOST_TEST(table.spares() == 0u);
    BOOST_TEST(table.end_connection(302, false).has_value());
    BOOST_TEST(table.spares() == 0u);
    BOOST_TEST(table.busy() == 0u);
}

BOOST_AUTO_TEST_CASE(only_a_fork_mode_child_counts_as_reported)
{
    ChildTable table;
    table.add(400, endpoint("192.0.2.1"), t0, -1);
    BOOST_TEST(!table.reported(400));
    table.attach(report_from(400));
    BOOST_TEST(table.reported(400));
    BOOST_TEST_REQUIRE(table.find(400)->report.has_value());
    BOOST_TEST(table.find(400)->report->bytes_in == 5u);

    // A prefork child may have more records in the pipe, whatever it has sent so far.
    table.add_spare(401, -1);
    BOOST_TEST(!table.reported(401));
    table.begin_connection(accepted(401, endpoint("192.0.2.2")), t0);
    table.attach(report_from(401));
    BOOST_TEST(!table.reported(401));

    table.attach(report_from(402));  // not a child: ignored
    BOOST_TEST(!table.reported(402));
    BOOST_TEST(table.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(client_counts)

BOOST_AUTO_TEST_CASE(a_source_is_an_ipv4_address_or_an_ipv6_64_and_counts_up_to_its_limit)
{
    ClientCounts counts;
    const ClientCounts::Limits limits{2, 0};
    std::vector<int> holds;
    auto admit = [&](const std::string& address) {
        holds.push_back(counts.reserve());
        return counts.admit(holds.back(), endpoint(address), limits, 0ms);
    };
    BOOST_TEST((admit("192.0.2.1") == ClientCounts::Verdict::admitted));
    BOOST_TEST((admit("::ffff:192.0.2.1") == ClientCounts::Verdict::admitted));  // IPv4-mapped
    BOOST_TEST((admit("192.0.2.1") == ClientCounts::Verdict::source_full));
    BOOST_TEST((admit("192.0.2.2") == ClientCounts::Verdict::admitted));
    BOOST_TEST((admit("2001:db8:1:2::1") == ClientCounts::Verdict::admitted));
    BOOST_TEST((admit("2001:db8:1:2:ffff:ffff:ffff:5") == ClientCounts::Verdict::admitted));
    BOOST_TEST((admit("2001:db8:1:2::7") == ClientCounts::Verdict::source_full));  // same /64
    BOOST_TEST((admit("2001:db8:1:3::1") == ClientCounts::Verdict::admitted));     // next /64
    BOOST_TEST(counts.count(source("192.0.2.1")) == 2u);
    BOOST_TEST(counts.count(source("2001:db8:1:2::99")) == 2u);
    BOOST_TEST(counts.count(source("192.0.2.3")) == 0u);
    for (int hold : holds) {
        counts.release(hold);
    }
    BOOST_TEST(counts.count(source("192.0.2.1")) == 0u);
    BOOST_TEST(counts.count(source("2001:db8:1:2::99")) == 0u);
}

BOOST_AUTO_TEST_CASE(a_network_is_an_ipv4_24_or_an_ipv6_48)
{
    ClientCounts counts;
    const ClientCounts::Limits limits{0, 2};
    auto admit = [&](const std::string& address) {
        return counts.admit(counts.reserve(), endpoint(address), limits, 0ms);
    };
    BOOST_TEST((admit("192.0.2.1") == ClientCounts::Verdict::admitted));
    BOOST_TEST((admit("192.0.2.200") == ClientCounts::Verdict::admitted));
    BOOST_TEST((admit("192.0.2.3") == ClientCounts::Verdict::network_full));
    BOOST_TEST((admit("192.0.3.1") == ClientCounts::Verdict::admitted));  // the next /24
    BOOST_TEST((admit("2001:db8:1:2::1") == ClientCounts::Verdict::admitted));
    BOOST_TEST((admit("2001:db8:1:ffff::1") == ClientCounts::Verdict::admitted));
    BOOST_TEST((admit("2001:db8:1::9") == ClientCounts::Verdict::network_full));
    BOOST_TEST((admit("2001:db8:2::1") == ClientCounts::Verdict::admitted));  // the next /48
    BOOST_TEST(counts.count(echod::network_key(endpoint("192.0.2.77"))) == 2u);
    // A connection refused for its network holds nothing for its source either.
    BOOST_TEST(counts.count(source("192.0.2.3")) == 0u);
    BOOST_TEST(echod::format_network(endpoint("192.0.2.77")) == "192.0.2.0/24");
    BOOST_TEST(echod::format_network(endpoint("2001:db8:1:2::1")) == "2001:db8:1::/48");
}

BOOST_AUTO_TEST_CASE(a_limit_off_still_counts_so_turning_it_on_sees_open_connections)
{
    ClientCounts counts;
    for (int i = 0; i < 3; ++i) {
        BOOST_TEST((counts.admit(counts.reserve(), endpoint("192.0.2.1"), {0, 0}, 0ms) ==
                    ClientCounts::Verdict::admitted));
    }
    BOOST_TEST(counts.count(source("192.0.2.1")) == 3u);
    BOOST_TEST((counts.admit(counts.reserve(), endpoint("192.0.2.1"), {2, 0}, 0ms) ==
                ClientCounts::Verdict::source_full));
}

BOOST_AUTO_TEST_CASE(what_a_child_holds_is_released_once_by_it_or_at_its_reap)
{
    ClientCounts counts;
    const ClientCounts::Limits limits{1, 1};
    const int first = counts.reserve();
    BOOST_TEST((counts.admit(first, endpoint("192.0.2.1"), limits, 0ms) ==
                ClientCounts::Verdict::admitted));
    counts.release(first);  // the child, as its connection ends
    counts.reap(first);     // the master, at the reap: nothing left to release
    BOOST_TEST(counts.count(source("192.0.2.1")) == 0u);
    BOOST_TEST(counts.count(echod::network_key(endpoint("192.0.2.1"))) == 0u);

    // Reused (most recently freed first); a child killed while it held a connection: the
    // reap releases it.
    const int second = counts.reserve();
    BOOST_TEST(second == first);
    BOOST_TEST((counts.admit(second, endpoint("192.0.2.1"), limits, 0ms) ==
                ClientCounts::Verdict::admitted));
    const int other = counts.reserve();
    BOOST_TEST(other != second);
    BOOST_TEST((counts.admit(other, endpoint("192.0.2.1"), limits, 0ms) ==
                ClientCounts::Verdict::source_full));
    counts.reap(second);
    BOOST_TEST((counts.admit(other, endpoint("192.0.2.1"), limits, 0ms) ==
                ClientCounts::Verdict::admitted));

    // One child, several connections in turn (prefork): each released in turn.
    counts.release(other);
    BOOST_TEST((counts.admit(other, endpoint("192.0.2.1"), limits, 0ms) ==
                ClientCounts::Verdict::admitted));
    counts.reap(other);
    BOOST_TEST(counts.count(source("192.0.2.1")) == 0u);
    BOOST_TEST(counts.count(echod::network_key(endpoint("192.0.2.1"))) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(limit_episode)

BOOST_AUTO_TEST_CASE(the_first_strike_begins_an_episode_and_later_ones_do_not)
{
    LimitEpisode episode;
    BOOST_TEST(!episode.active());
    BOOST_TEST(episode.strikes() == 0u);
    BOOST_TEST(episode.strike(t0));
    BOOST_TEST(episode.active());
    BOOST_TEST(!episode.strike(t0 + 10ms));
    BOOST_TEST(!episode.strike(t0 + 20ms));
    BOOST_TEST(episode.strikes() == 3u);
    BOOST_TEST(episode.duration_ms(t0 + 250ms) == 250);
}

BOOST_AUTO_TEST_CASE(an_episode_ends_only_after_quiet_without_strikes_or_the_limit)
{
    static_assert(LimitEpisode::quiet == std::chrono::seconds(1));
    LimitEpisode episode;
    BOOST_TEST(!episode.settle(t0, false));  // nothing to end
    BOOST_TEST(!episode.settle(t0, true));   // in force, but it never struck: no episode
    BOOST_TEST(!episode.active());

    episode.strike(t0);
    episode.strike(t0 + 800ms);
    BOOST_TEST(!episode.settle(t0 + 1500ms, false));  // 700 ms since the last strike
    BOOST_TEST(!episode.settle(t0 + 1799ms, false));
    BOOST_TEST(episode.active());
    BOOST_TEST(episode.settle(t0 + 1800ms, false));  // `quiet` since the last strike
    BOOST_TEST(!episode.active());
    BOOST_TEST(episode.strikes() == 2u);  // still there for the "cleared" log line
    BOOST_TEST(episode.duration_ms(t0 + 1800ms) == 1800);
    BOOST_TEST(!episode.settle(t0 + 5s, false));  // ends once

    // The next strike begins a new episode, counted afresh.
    BOOST_TEST(episode.strike(t0 + 10s));
    BOOST_TEST(episode.strikes() == 1u);
    BOOST_TEST(episode.duration_ms(t0 + 10s + 100ms) == 100);
}

BOOST_AUTO_TEST_CASE(a_limit_still_in_force_keeps_its_episode)
{
    LimitEpisode episode;
    episode.strike(t0);
    // No more strikes, but the limit holds (say max_children still busy): no end, and the
    // quiet time counts from when it last held.
    BOOST_TEST(!episode.settle(t0 + 2s, true));
    BOOST_TEST(!episode.settle(t0 + 5s, true));
    BOOST_TEST(episode.active());
    BOOST_TEST(!episode.settle(t0 + 5s + 999ms, false));
    BOOST_TEST(episode.settle(t0 + 6s, false));
    BOOST_TEST(!episode.active());
    BOOST_TEST(episode.strikes() == 1u);
    BOOST_TEST(episode.duration_ms(t0 + 6s) == 6000);
}

BOOST_AUTO_TEST_SUITE_END()
