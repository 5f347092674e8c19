// The master's bookkeeping, as plain objects: ChildTable (its live children, the busy, spare
// and per-source counts) and LimitEpisode (when a limit is reached and cleared). No sockets,
// no processes: fake pids, Endpoints and explicit time points.
#define BOOST_TEST_MODULE child_table
#include "daemon/child_table.hpp"
#include "daemon/limit_episode.hpp"
#include "os/address.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using echod::Child;
using echod::ChildReport;
using echod::ChildTable;
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

BOOST_AUTO_TEST_CASE(a_fork_mode_child_is_busy_for_its_source_until_taken)
{
    ChildTable table;
    BOOST_TEST(table.empty());
    table.add(100, endpoint("192.0.2.1", 1000), t0);
    table.add(101, endpoint("192.0.2.1", 1001), t0 + 1ms);  // same source, another port
    table.add(102, endpoint("192.0.2.2"), t0 + 2ms);
    BOOST_TEST(table.size() == 3u);
    BOOST_TEST(table.busy() == 3u);
    BOOST_TEST(table.spares() == 0u);
    BOOST_TEST(table.from_source(source("192.0.2.1")) == 2u);
    BOOST_TEST(table.from_source(source("192.0.2.2")) == 1u);
    BOOST_TEST(!table.any_spare().has_value());

    const Child* child = table.find(100);
    BOOST_TEST_REQUIRE(child != nullptr);
    BOOST_TEST(!child->prefork);
    BOOST_TEST(child->busy);
    BOOST_TEST(!child->counted);
    BOOST_TEST(!child->retiring);
    BOOST_TEST(child->peer.port() == 1000);
    BOOST_TEST((child->started == t0));
    BOOST_TEST(!child->report.has_value());

    const std::optional<Child> taken = table.take(100);
    BOOST_TEST_REQUIRE(taken.has_value());
    BOOST_TEST(taken->peer.port() == 1000);
    BOOST_TEST((taken->source == source("192.0.2.1")));
    BOOST_TEST(table.find(100) == nullptr);
    BOOST_TEST(!table.take(100).has_value());  // taken once
    BOOST_TEST(table.busy() == 2u);
    BOOST_TEST(table.from_source(source("192.0.2.1")) == 1u);

    std::vector<pid_t> pids = table.pids();
    std::sort(pids.begin(), pids.end());
    BOOST_TEST((pids == std::vector<pid_t>{101, 102}));
    table.take(101);
    table.take(102);
    BOOST_TEST(table.empty());
    BOOST_TEST(table.busy() == 0u);
    BOOST_TEST(table.from_source(source("192.0.2.1")) == 0u);
    BOOST_TEST(table.from_source(source("192.0.2.2")) == 0u);
}

BOOST_AUTO_TEST_CASE(a_prefork_child_is_spare_busy_spare_again_then_retires)
{
    ChildTable table;
    table.add_spare(200);
    BOOST_TEST(table.size() == 1u);
    BOOST_TEST(table.spares() == 1u);
    BOOST_TEST(table.busy() == 0u);
    BOOST_TEST((table.any_spare() == std::optional<pid_t>(200)));
    BOOST_TEST(table.find(200)->prefork);
    BOOST_TEST(!table.find(200)->busy);

    table.begin_connection(200, endpoint("192.0.2.1", 1000), t0, true);
    BOOST_TEST(table.spares() == 0u);
    BOOST_TEST(table.busy() == 1u);
    BOOST_TEST(table.from_source(source("192.0.2.1")) == 1u);
    BOOST_TEST(!table.any_spare().has_value());
    BOOST_TEST(table.find(200)->counted);
    BOOST_TEST((table.find(200)->started == t0));

    // Not the last connection: the child is a spare again, and its connection is returned
    // as it was (counted, for the caller to release).
    std::optional<Child> ended = table.end_connection(200, false);
    BOOST_TEST_REQUIRE(ended.has_value());
    BOOST_TEST(ended->peer.port() == 1000);
    BOOST_TEST(ended->counted);
    BOOST_TEST(table.busy() == 0u);
    BOOST_TEST(table.spares() == 1u);
    BOOST_TEST(table.from_source(source("192.0.2.1")) == 0u);
    BOOST_TEST(!table.find(200)->counted);
    BOOST_TEST(!table.find(200)->retiring);
    BOOST_TEST((table.any_spare() == std::optional<pid_t>(200)));
    BOOST_TEST(!table.end_connection(200, false).has_value());  // no connection to end

    // The last connection: the child exits after it, so it is no spare.
    table.begin_connection(200, endpoint("192.0.2.2", 1001), t0 + 1s, false);
    BOOST_TEST(table.from_source(source("192.0.2.2")) == 1u);
    ended = table.end_connection(200, true);
    BOOST_TEST_REQUIRE(ended.has_value());
    BOOST_TEST(!ended->counted);
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
    table.add_spare(300);
    table.add_spare(301);
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
    table.begin_connection(301, endpoint("192.0.2.1"), t0, false);
    table.retire(301);
    BOOST_TEST(table.busy() == 1u);
    BOOST_TEST(table.from_source(source("192.0.2.1")) == 1u);
    BOOST_TEST(table.end_connection(301, false).has_value());
    BOOST_TEST(table.busy() == 0u);
    BOOST_TEST(table.spares() == 0u);
    BOOST_TEST(table.from_source(source("192.0.2.1")) == 0u);

    // Retired as a spare, but it had accepted already (the report comes after the signal).
    table.add_spare(302);
    table.retire(302);
    table.begin_connection(302, endpoint("192.0.2.3"), t0, false);
    BOOST_TEST(table.busy() == 1u);
    BOOST_TEST(table.spares() == 0u);
    BOOST_TEST(table.end_connection(302, false).has_value());
    BOOST_TEST(table.spares() == 0u);
    BOOST_TEST(table.busy() == 0u);
}

BOOST_AUTO_TEST_CASE(a_source_is_an_ipv4_address_or_an_ipv6_64)
{
    ChildTable table;
    table.add(1, endpoint("192.0.2.1"), t0);
    table.add(2, endpoint("::ffff:192.0.2.1"), t0);  // IPv4-mapped: the same source
    table.add(3, endpoint("192.0.2.2"), t0);
    table.add(4, endpoint("2001:db8:1:2::1"), t0);
    table.add(5, endpoint("2001:db8:1:2:ffff:ffff:ffff:5"), t0);  // the same /64
    table.add(6, endpoint("2001:db8:1:3::1"), t0);                // the next /64
    table.add_spare(7);
    table.begin_connection(7, endpoint("2001:db8:1:2::7"), t0, false);  // prefork too

    BOOST_TEST(table.from_source(source("192.0.2.1")) == 2u);
    BOOST_TEST(table.from_source(source("192.0.2.2")) == 1u);
    BOOST_TEST(table.from_source(source("192.0.2.3")) == 0u);
    BOOST_TEST(table.from_source(source("2001:db8:1:2::99")) == 3u);
    BOOST_TEST(table.from_source(source("2001:db8:1:3::1")) == 1u);
    BOOST_TEST(table.from_source(source("2001:db8:1:4::1")) == 0u);
    BOOST_TEST(table.from_source(SourceKey{}) == 0u);  // spares have no source

    table.take(5);
    BOOST_TEST(table.from_source(source("2001:db8:1:2::1")) == 2u);
    BOOST_TEST(table.end_connection(7, false).has_value());
    BOOST_TEST(table.from_source(source("2001:db8:1:2::1")) == 1u);
    BOOST_TEST(table.busy() == 5u);
    BOOST_TEST(table.spares() == 1u);
}

BOOST_AUTO_TEST_CASE(only_a_fork_mode_child_counts_as_reported)
{
    ChildTable table;
    table.add(400, endpoint("192.0.2.1"), t0);
    BOOST_TEST(!table.reported(400));
    table.attach(report_from(400));
    BOOST_TEST(table.reported(400));
    BOOST_TEST_REQUIRE(table.find(400)->report.has_value());
    BOOST_TEST(table.find(400)->report->bytes_in == 5u);

    // A prefork child may have more records in the pipe, whatever it has sent so far.
    table.add_spare(401);
    BOOST_TEST(!table.reported(401));
    table.begin_connection(401, endpoint("192.0.2.2"), t0, false);
    table.attach(report_from(401));
    BOOST_TEST(!table.reported(401));

    table.attach(report_from(402));  // not a child: ignored
    BOOST_TEST(!table.reported(402));
    BOOST_TEST(table.size() == 2u);
}

BOOST_AUTO_TEST_CASE(count_fork_children_marks_only_uncounted_fork_mode_children)
{
    ChildTable table;
    table.add(500, endpoint("192.0.2.1"), t0);
    table.add(501, endpoint("192.0.2.2"), t0);
    table.add(502, endpoint("192.0.2.3"), t0);
    table.add_spare(503);
    table.begin_connection(503, endpoint("192.0.2.4"), t0, false);  // prefork, uncounted
    table.add_spare(504);

    std::vector<SourceKey> offered;
    auto count_all_but_2 = [&offered](const SourceKey& key) {
        offered.push_back(key);
        return !(key == source("192.0.2.2"));  // the table was full for this one
    };
    table.count_fork_children(count_all_but_2);
    BOOST_TEST(offered.size() == 3u);
    BOOST_TEST(table.find(500)->counted);
    BOOST_TEST(!table.find(501)->counted);
    BOOST_TEST(table.find(502)->counted);
    BOOST_TEST(!table.find(503)->counted);
    BOOST_TEST(!table.find(504)->counted);

    // Again (the next reload): only the one still uncounted is offered.
    offered.clear();
    table.count_fork_children(count_all_but_2);
    BOOST_TEST_REQUIRE(offered.size() == 1u);
    BOOST_TEST((offered[0] == source("192.0.2.2")));
    BOOST_TEST(table.busy() == 4u);  // counting changes no count of the table's own

    const std::optional<Child> taken = table.take(500);
    BOOST_TEST_REQUIRE(taken.has_value());
    BOOST_TEST(taken->counted);  // for the caller to release in SourceSlots
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
