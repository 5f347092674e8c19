// The shared per-source token buckets (src/common/rate_table.*). Every call is given its
// instant, so each count here is exact and nothing sleeps: a bucket's tokens at one
// instant, its refill, two seconds at full speed, sources apart and sources together, a
// crowded probe window, and threads taking from one bucket at once.
#define BOOST_TEST_MODULE rate_table
#include "common/rate_table.hpp"

#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace echod;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using Rate = RateTable::Rate;

namespace {

// Far from the clock's zero, as CLOCK_MONOTONIC is on a machine that has been up a while.
const Clock::time_point t0 = Clock::time_point(std::chrono::hours(100));

SourceKey key_of(const std::string& address)
{
    const auto endpoint = parse_endpoint(address, 40000);
    BOOST_TEST_REQUIRE(endpoint.has_value(), address);
    return source_key(*endpoint);
}

// The source of 10.0.0.0 + n (n < 2^24).
SourceKey ipv4_source(std::uint32_t n)
{
    const std::uint32_t address = htonl((10u << 24) | n);
    return source_key(make_endpoint(AF_INET, &address, 40000));
}

// Tokens `source` gets at `now`, taken until one is refused (at most `most`).
unsigned drain(RateTable& table, const SourceKey& source, const Rate& rate,
               Clock::time_point now, unsigned most = 10'000'000)
{
    unsigned taken = 0;
    while (taken < most && table.take(source, rate, now)) {
        ++taken;
    }
    return taken;
}

// `count` IPv4 sources with one home, so the first probe_window of them fill its window.
std::vector<SourceKey> sources_with_one_home(const RateTable& table, std::size_t count)
{
    std::map<std::size_t, std::vector<SourceKey>> by_home;
    for (std::uint32_t n = 0; n < (1u << 24); ++n) {
        const SourceKey source = ipv4_source(n);
        auto& same = by_home[table.home(source)];
        same.push_back(source);
        if (same.size() == count) {
            return same;
        }
    }
    BOOST_FAIL("no " << count << " sources with one home among 2^24");
    return {};
}

// A table per test: each maps its own 1 MiB, all slots free.
std::unique_ptr<RateTable> new_table()
{
    return std::make_unique<RateTable>();
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_full_bucket_gives_exactly_burst_tokens_at_one_instant)
{
    for (const Rate rate : {Rate{1, 1}, Rate{10, 3}, Rate{10, 50}, Rate{1000, 1000},
                            Rate{1, 1000000}, Rate{1000000, 1000000}}) {
        BOOST_TEST_CONTEXT("per_second=" << rate.per_second << " burst=" << rate.burst)
        {
            auto table = new_table();
            const SourceKey source = key_of("192.0.2.1");
            BOOST_TEST(drain(*table, source, rate, t0) == rate.burst);
            BOOST_TEST(!table->take(source, rate, t0));  // and it stays refused
        }
    }
    // A burst of 0 is taken as 1.
    auto table = new_table();
    BOOST_TEST(drain(*table, key_of("192.0.2.1"), Rate{5, 0}, t0) == 1u);
}

BOOST_AUTO_TEST_CASE(one_more_token_every_one_over_rate_seconds)
{
    auto table = new_table();
    const SourceKey source = key_of("192.0.2.1");
    const Rate rate{10, 3};  // a token every 100 ms
    BOOST_TEST(drain(*table, source, rate, t0) == 3u);
    BOOST_TEST(!table->take(source, rate, t0 + milliseconds(100) - nanoseconds(1)));
    for (int k = 1; k <= 20; ++k) {
        BOOST_TEST_CONTEXT("k=" << k)
        {
            const Clock::time_point at = t0 + milliseconds(100) * k;
            BOOST_TEST(!table->take(source, rate, at - nanoseconds(1)));
            BOOST_TEST(drain(*table, source, rate, at) == 1u);
            BOOST_TEST(!table->take(source, rate, at + milliseconds(50)));
        }
    }
    // Left alone, it fills up to burst and no further.
    BOOST_TEST(drain(*table, source, rate, t0 + seconds(60)) == 3u);
    // Half-way to full: what came back, no more.
    BOOST_TEST(drain(*table, source, rate, t0 + seconds(60) + milliseconds(250)) == 2u);
}

// In 2 s of connecting at full speed, a source gets burst + 2 × rate connections.
BOOST_AUTO_TEST_CASE(two_seconds_at_full_speed_give_burst_plus_twice_the_rate)
{
    for (const Rate rate : {Rate{50, 10}, Rate{50, 50}, Rate{3, 1}, Rate{7, 20}, Rate{1000, 5},
                            Rate{1, 1}}) {
        BOOST_TEST_CONTEXT("per_second=" << rate.per_second << " burst=" << rate.burst)
        {
            auto table = new_table();
            const SourceKey source = key_of("2001:db8::1");
            long taken = 0;
            for (auto at = t0; at <= t0 + seconds(2); at += std::chrono::microseconds(250)) {
                taken += table->take(source, rate, at) ? 1 : 0;
            }
            const long expected = rate.burst + 2L * rate.per_second;
            BOOST_TEST(taken >= expected - 1);
            BOOST_TEST(taken <= expected + 1);
        }
    }
}

BOOST_AUTO_TEST_CASE(no_limit_never_refuses)
{
    auto table = new_table();
    const SourceKey source = key_of("192.0.2.1");
    for (int i = 0; i < 100000; ++i) {
        if (!table->take(source, Rate{0, 1}, t0)) {
            BOOST_FAIL("refused with no limit, at take " << i);
        }
    }
    // Nor does it touch the bucket: a limit turned on later finds it full.
    BOOST_TEST(drain(*table, source, Rate{1, 4}, t0) == 4u);
}

BOOST_AUTO_TEST_CASE(an_exhausted_source_does_not_slow_another)
{
    auto table = new_table();
    const Rate rate{5, 5};
    const SourceKey a = key_of("192.0.2.1");
    const SourceKey b = key_of("192.0.2.2");
    BOOST_TEST(drain(*table, a, rate, t0) == 5u);
    for (int i = 0; i < 1000; ++i) {
        table->take(a, rate, t0);  // refused, again and again
    }
    BOOST_TEST(drain(*table, b, rate, t0) == 5u);
    BOOST_TEST(!table->take(a, rate, t0));
    BOOST_TEST(drain(*table, a, rate, t0 + milliseconds(200)) == 1u);
    BOOST_TEST(drain(*table, b, rate, t0 + milliseconds(200)) == 1u);
}

// A source is source_key's: an IPv4 address (IPv4-mapped too), an IPv6 /64.
BOOST_AUTO_TEST_CASE(ipv6_sources_share_a_bucket_per_64)
{
    auto table = new_table();
    const Rate rate{1, 3};
    BOOST_TEST(table->take(key_of("2001:db8:1:2::1"), rate, t0));
    BOOST_TEST(table->take(key_of("2001:db8:1:2:ffff:ffff:ffff:ffff"), rate, t0));
    BOOST_TEST(table->take(key_of("2001:db8:1:2:1234::99"), rate, t0));
    BOOST_TEST(!table->take(key_of("2001:db8:1:2::1"), rate, t0));
    BOOST_TEST(!table->take(key_of("2001:db8:1:2::2"), rate, t0));
    // The next /64, and one in another /48, have buckets of their own.
    BOOST_TEST(drain(*table, key_of("2001:db8:1:3::1"), rate, t0) == 3u);
    BOOST_TEST(drain(*table, key_of("2001:db8:1:1:ffff:ffff:ffff:ffff"), rate, t0) == 3u);
    BOOST_TEST(drain(*table, key_of("2001:db8:2:2::1"), rate, t0) == 3u);

    // IPv4: one address each; an IPv4-mapped peer is the IPv4 address.
    BOOST_TEST(drain(*table, key_of("192.0.2.1"), rate, t0) == 3u);
    BOOST_TEST(!table->take(key_of("::ffff:192.0.2.1"), rate, t0));
    BOOST_TEST(drain(*table, key_of("192.0.2.2"), rate, t0) == 3u);
}

// More sources than slots, at one instant, each leaving its bucket refilling: every one
// finds room (a new source always starts with a full bucket), none is refused.
BOOST_AUTO_TEST_CASE(a_full_table_refuses_no_source_for_lack_of_room)
{
    auto table = new_table();
    const Rate rate{1, 2};
    const std::uint32_t sources = 3 * RateTable::slot_count;
    std::uint32_t refused = 0;
    for (std::uint32_t n = 0; n < sources; ++n) {
        refused += table->take(ipv4_source(n), rate, t0) ? 0 : 1;
    }
    BOOST_TEST(refused == 0u);
    // The same again a moment later, with every slot taken by a bucket still refilling.
    for (std::uint32_t n = sources; n < 2 * sources; ++n) {
        refused += table->take(ipv4_source(n), rate, t0 + milliseconds(1)) ? 0 : 1;
    }
    BOOST_TEST(refused == 0u);
    // An exhausted source just seen is still remembered.
    const SourceKey last = ipv4_source(2 * sources - 1);
    BOOST_TEST(drain(*table, last, rate, t0 + milliseconds(1)) == 1u);
    BOOST_TEST(!table->take(last, rate, t0 + milliseconds(1)));
}

// probe_window sources fill one window; one more source, with every bucket there still
// refilling, takes the slot of the one nearest to full, and that one is forgotten: it
// starts again with a full bucket (up to a burst more than its rate). The others keep
// their buckets.
BOOST_AUTO_TEST_CASE(each_table_places_sources_by_its_own_random_seed)
{
    // Which sources share a window must not be known in advance: two tables (two starts)
    // place the same sources differently, and a known seed places them the same.
    RateTable a;
    RateTable b;
    RateTable c(42);
    RateTable d(42);
    std::size_t differ = 0;
    for (std::uint32_t n = 0; n < 64; ++n) {
        differ += a.home(ipv4_source(n)) != b.home(ipv4_source(n)) ? 1 : 0;
        BOOST_TEST(c.home(ipv4_source(n)) == d.home(ipv4_source(n)));
    }
    BOOST_TEST(differ > 32u);
}

BOOST_AUTO_TEST_CASE(a_crowded_window_forgets_the_source_nearest_to_full)
{
    static_assert(RateTable::probe_window == 8, "the fills below are for a window of 8");
    auto table = new_table();
    const std::vector<SourceKey> crowd =
        sources_with_one_home(*table, RateTable::probe_window + 2);
    const Rate rate{1, 4};
    // Tokens each of the first 8 takes at t0: the fourth (index 3) is left nearest to full.
    const unsigned taken[RateTable::probe_window] = {4, 3, 4, 2, 4, 4, 3, 4};
    for (std::size_t i = 0; i < RateTable::probe_window; ++i) {
        BOOST_TEST(drain(*table, crowd[i], rate, t0, taken[i]) == taken[i]);
    }
    const SourceKey& newcomer = crowd[RateTable::probe_window];
    BOOST_TEST(drain(*table, newcomer, rate, t0) == 4u, "a new source starts full");
    // Those exhausted are still remembered (a full bucket each, if the window had room).
    for (std::size_t i : {0, 2, 4, 5, 7}) {
        BOOST_TEST(!table->take(crowd[i], rate, t0),
                   "source " << i << " was forgotten");
    }
    // The one nearest to full was forgotten: it comes back to a full bucket, not to the 2
    // tokens it had left.
    BOOST_TEST(drain(*table, crowd[3], rate, t0) == 4u,
               "the source nearest to full was not the one forgotten");
    // Coming back, it took the slot of the one now nearest to full (3 tokens taken, the
    // first of them in the window), which comes back full too; the exhausted stay refused.
    BOOST_TEST(drain(*table, crowd[1], rate, t0) == 4u);
    for (std::size_t i : {0, 2, 4, 5, 7}) {
        BOOST_TEST(!table->take(crowd[i], rate, t0), "source " << i);
    }
}

// A source whose bucket is full again is forgotten first: that loses nothing, and the
// sources still refilling keep their buckets.
BOOST_AUTO_TEST_CASE(a_crowded_window_reuses_a_bucket_that_is_full_again)
{
    auto table = new_table();
    const std::vector<SourceKey> crowd =
        sources_with_one_home(*table, RateTable::probe_window + 1);
    const Rate rate{1, 4};
    for (std::size_t i = 0; i < RateTable::probe_window; ++i) {
        const unsigned tokens = i == 5 ? 1 : 4;  // the sixth is full again after 1 s
        BOOST_TEST(drain(*table, crowd[i], rate, t0, tokens) == tokens);
    }
    const Clock::time_point later = t0 + seconds(1);
    BOOST_TEST(drain(*table, crowd[RateTable::probe_window], rate, later) == 4u);
    // Those refilling have 1 s worth: one token each.
    for (std::size_t i : {0, 1, 2, 3, 4, 6, 7}) {
        BOOST_TEST(drain(*table, crowd[i], rate, later) == 1u,
                   "source " << i);
    }
    // The one reused comes back to a full bucket, as it had.
    BOOST_TEST(drain(*table, crowd[5], rate, later) == 4u);
}

namespace {

// Runs `body(thread_index)` on `count` threads that start together.
template <typename Body>
void on_threads(unsigned count, Body body)
{
    std::atomic<unsigned> ready{0};
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < count; ++t) {
        threads.emplace_back([&, t] {
            ready.fetch_add(1);
            while (ready.load() < count) {
                std::this_thread::yield();
            }
            body(t);
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
}

}  // namespace

// Threads taking from one bucket at once never get more than one thread would.
BOOST_AUTO_TEST_CASE(threads_on_one_bucket_take_no_more_than_allowed)
{
    constexpr unsigned threads = 4;
    constexpr unsigned attempts = 10000;
    const SourceKey source = key_of("192.0.2.1");
    {
        // All at one instant: exactly burst.
        auto table = new_table();
        const Rate rate{1000, 777};
        std::atomic<unsigned> granted{0};
        on_threads(threads, [&](unsigned) {
            unsigned mine = 0;
            for (unsigned i = 0; i < attempts; ++i) {
                mine += table->take(source, rate, t0) ? 1 : 0;
            }
            granted += mine;
        });
        BOOST_TEST(granted.load() == 777u);
    }
    {
        // Each thread over the same second, one attempt every 100 µs: at most burst + one
        // token per ms after the first instant, however the threads interleave.
        auto table = new_table();
        const Rate rate{1000, 100};
        std::atomic<unsigned> granted{0};
        on_threads(threads, [&](unsigned) {
            unsigned mine = 0;
            for (unsigned i = 0; i < attempts; ++i) {
                mine += table->take(source, rate, t0 + std::chrono::microseconds(100) * i) ? 1 : 0;
            }
            granted += mine;
        });
        const unsigned most = 100 + (attempts - 1) / 10;  // 1099: one thread alone gets this
        BOOST_TEST(granted.load() <= most);
        BOOST_TEST(granted.load() >= 100u);
    }
}

// Threads meeting a source the table has not seen: one of them claims a slot for it, and
// between them they still get no more than its burst.
BOOST_AUTO_TEST_CASE(threads_claiming_a_new_source_take_no_more_than_its_burst)
{
    constexpr unsigned threads = 4;
    constexpr std::uint32_t sources = 100000;
    auto table = new_table();
    const Rate rate{1, 1};
    std::vector<std::atomic<unsigned>> granted(sources);
    std::atomic<std::uint32_t> arrived{0};
    on_threads(threads, [&](unsigned) {
        for (std::uint32_t n = 0; n < sources; ++n) {
            // Meet at each source, so that the threads claim it at the same moment.
            arrived.fetch_add(1);
            while (arrived.load() < (n + 1) * threads) {
                std::this_thread::yield();
            }
            if (table->take(ipv4_source(n), rate, t0)) {
                granted[n].fetch_add(1);
            }
        }
    });
    std::uint32_t over = 0;
    std::uint32_t none = 0;
    for (std::uint32_t n = 0; n < sources; ++n) {
        over += granted[n].load() > 1 ? 1 : 0;
        none += granted[n].load() == 0 ? 1 : 0;
    }
    BOOST_TEST(over == 0u, over << " of " << sources << " new sources got more than one token");
    BOOST_TEST(none == 0u, none << " of " << sources << " new sources got nothing");
}
