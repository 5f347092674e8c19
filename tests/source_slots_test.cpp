// The per-source table prefork children share (src/source_slots.*), under real concurrency:
// forked processes count connections from sources whose probe chains collide, as children
// accepting at once do.
#define BOOST_TEST_MODULE source_slots
#include "common/source_slots.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <random>
#include <vector>

using echod::SourceKey;
using echod::SourceSlots;
using Outcome = SourceSlots::Outcome;

namespace {

// The key echod makes for a client at `address` (host byte order).
SourceKey ipv4_key(std::uint32_t address)
{
    echod::Endpoint peer;
    auto* in = reinterpret_cast<sockaddr_in*>(&peer.storage);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(address);
    peer.length = sizeof *in;
    return echod::source_key(peer);
}

// `n` IPv4 sources (10.0.0.0/8) whose probe chains all start at the same slot.
std::vector<SourceKey> colliding_sources(std::size_t n)
{
    const std::size_t home = SourceSlots::home(ipv4_key(0x0a000000));
    std::vector<SourceKey> keys{ipv4_key(0x0a000000)};
    for (std::uint32_t a = 0x0a000001; a < 0x0b000000 && keys.size() < n; ++a) {
        if (SourceSlots::home(ipv4_key(a)) == home) {
            keys.push_back(ipv4_key(a));
        }
    }
    BOOST_TEST_REQUIRE(keys.size() == n);
    return keys;
}

// Counters shared with forked workers.
struct Shared {
    std::atomic<int> holding[16];  // connections counted per source, as the workers see them
    std::atomic<int> over_limit;   // times a worker saw more than the limit counted
    std::atomic<int> duplicated;   // times a source was found in two slots
    std::atomic<int> uncounted;
    std::atomic<bool> go;
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_source_is_counted_up_to_its_limit_and_released)
{
    SourceSlots slots;
    const SourceKey a = ipv4_key(0x7f000002);
    const SourceKey b = ipv4_key(0x7f000003);
    BOOST_TEST((slots.try_add(a, 2) == Outcome::counted));
    BOOST_TEST((slots.try_add(a, 2) == Outcome::counted));
    BOOST_TEST((slots.try_add(a, 2) == Outcome::refused));
    BOOST_TEST((slots.try_add(b, 2) == Outcome::counted));  // per source
    slots.remove(a);
    BOOST_TEST((slots.try_add(a, 2) == Outcome::counted));
    BOOST_TEST((slots.try_add(a, 2) == Outcome::refused));
    BOOST_TEST(slots.slots_holding(a) == 1u);
}

BOOST_AUTO_TEST_CASE(sources_sharing_a_chain_reuse_freed_slots)
{
    SourceSlots slots;
    const std::vector<SourceKey> keys = colliding_sources(8);
    for (const SourceKey& key : keys) {
        BOOST_TEST((slots.try_add(key, 1) == Outcome::counted));
    }
    for (const SourceKey& key : keys) {
        BOOST_TEST((slots.try_add(key, 1) == Outcome::refused));
        slots.remove(key);
    }
    // Every slot of the chain is free now; new sources take them over, and each is in
    // exactly one slot.
    const std::vector<SourceKey> more = colliding_sources(12);
    for (const SourceKey& key : more) {
        BOOST_TEST((slots.try_add(key, 1) == Outcome::counted));
        BOOST_TEST(slots.slots_holding(key) == 1u);
    }
}

BOOST_AUTO_TEST_CASE(processes_counting_colliding_sources_at_once_never_exceed_the_limit)
{
    // Four processes (two per core here), each 300 ms of: take a random source out of 12
    // whose chains collide, count it with limit 1, check, release it. Slots free up and are
    // taken by other sources all the time, which is where two inserts of one source could
    // race into two slots.
    SourceSlots slots;
    const std::vector<SourceKey> keys = colliding_sources(12);
    void* memory = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    BOOST_TEST_REQUIRE(memory != MAP_FAILED);
    auto* shared = new (memory) Shared{};
    constexpr int workers = 4;
    std::vector<pid_t> pids;
    for (int w = 0; w < workers; ++w) {
        const pid_t pid = ::fork();
        BOOST_TEST_REQUIRE(pid >= 0);
        if (pid == 0) {
            std::minstd_rand random(static_cast<unsigned>(w + 1));
            while (!shared->go.load()) {
            }
            const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
            while (std::chrono::steady_clock::now() < end) {
                const std::size_t i = random() % keys.size();
                const Outcome outcome = slots.try_add(keys[i], 1);
                if (outcome == Outcome::uncounted) {
                    shared->uncounted.fetch_add(1);
                }
                if (outcome != Outcome::counted) {
                    continue;
                }
                if (shared->holding[i].fetch_add(1) + 1 > 1) {
                    shared->over_limit.fetch_add(1);
                }
                if (slots.slots_holding(keys[i]) > 1) {
                    shared->duplicated.fetch_add(1);
                }
                shared->holding[i].fetch_sub(1);
                slots.remove(keys[i]);
            }
            ::_exit(0);
        }
        pids.push_back(pid);
    }
    shared->go.store(true);
    for (pid_t pid : pids) {
        int status = 0;
        BOOST_TEST_REQUIRE(::waitpid(pid, &status, 0) == pid);
        BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    BOOST_TEST(shared->over_limit.load() == 0);
    BOOST_TEST(shared->duplicated.load() == 0);
    BOOST_TEST(shared->uncounted.load() == 0);
    for (const SourceKey& key : keys) {
        BOOST_TEST(slots.slots_holding(key) <= 1u);
        BOOST_TEST((slots.try_add(key, 1) == Outcome::counted));  // nothing leaked
    }
    ::munmap(memory, sizeof(Shared));
}

namespace {

// Forks a process that inserts new sources (`first`, `first` + 1, ...) without pause, each
// insert taking the lock, and returns after 1-3.7 ms (by `round`) with it still running.
pid_t start_inserter(SourceSlots& slots, std::uint32_t first, std::uint32_t round)
{
    const pid_t inserter = ::fork();
    BOOST_TEST_REQUIRE(inserter >= 0);
    if (inserter == 0) {
        for (std::uint32_t i = 0;; ++i) {
            const SourceKey key = ipv4_key(first + (i & 0xfffffu));
            slots.try_add(key, 1);
            slots.remove(key);
        }
    }
    ::usleep(1000 + (round % 10) * 300);
    return inserter;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_process_killed_while_inserting_does_not_lock_out_new_sources)
{
    // The insert lock is robust: a holder that dies leaves it to the next process. A child
    // inserts new sources without pause (each insert takes the lock) and is killed at some
    // moment, 50 times; then a new source must still be counted, within 10 s (checked in a
    // process of its own, so that a lock left held fails the test instead of hanging it).
    SourceSlots slots;
    for (std::uint32_t round = 0; round < 50; ++round) {
        const pid_t inserter = start_inserter(slots, 0x40000000u + (round << 20), round);
        ::kill(inserter, SIGKILL);
        int status = 0;
        BOOST_TEST_REQUIRE(::waitpid(inserter, &status, 0) == inserter);

        const pid_t checker = ::fork();
        BOOST_TEST_REQUIRE(checker >= 0);
        if (checker == 0) {
            ::alarm(10);
            const SourceKey fresh = ipv4_key(0x0b000000u + round);
            ::_exit(slots.try_add(fresh, 1) == Outcome::counted ? 0 : 1);
        }
        BOOST_TEST_REQUIRE(::waitpid(checker, &status, 0) == checker);
        BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "round " << round);
    }
}

BOOST_AUTO_TEST_CASE(a_process_stopped_while_inserting_holds_up_new_sources_for_the_wait_at_most)
{
    // As above, but the inserter is stopped (SIGSTOP), not killed: a lock it holds stays
    // held. A new source then waits 100 ms at most and goes uncounted; with no wait (the
    // master's call) it does not wait at all.
    SourceSlots slots;
    int held = 0;
    for (std::uint32_t round = 0; round < 50; ++round) {
        const pid_t inserter = start_inserter(slots, 0x80000000u + (round << 20), round);
        ::kill(inserter, SIGSTOP);
        int status = 0;
        BOOST_TEST_REQUIRE(::waitpid(inserter, &status, WUNTRACED) == inserter);

        const pid_t checker = ::fork();
        BOOST_TEST_REQUIRE(checker >= 0);
        if (checker == 0) {
            ::alarm(10);
            const SourceKey fresh = ipv4_key(0x0e000000u + round);
            const auto start = std::chrono::steady_clock::now();
            const Outcome waited = slots.try_add(fresh, 1);
            const auto waited_for = std::chrono::steady_clock::now() - start;
            const SourceKey other = ipv4_key(0x0f000000u + round);
            const Outcome at_once = slots.try_add(other, 1, std::chrono::milliseconds(0));
            const auto both = std::chrono::steady_clock::now() - start;
            const bool in_time = waited_for < std::chrono::seconds(1) &&
                                 both - waited_for < std::chrono::milliseconds(50);
            if (!in_time || waited == Outcome::refused || at_once == Outcome::refused) {
                ::_exit(1);
            }
            ::_exit(waited == Outcome::uncounted ? 2 : 0);  // 2: the lock was held
        }
        BOOST_TEST_REQUIRE(::waitpid(checker, &status, 0) == checker);
        BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) != 1), "round " << round);
        held += WIFEXITED(status) && WEXITSTATUS(status) == 2 ? 1 : 0;
        ::kill(inserter, SIGKILL);
        BOOST_TEST_REQUIRE(::waitpid(inserter, &status, 0) == inserter);
    }
    BOOST_TEST_MESSAGE("the inserter was stopped holding the lock in " << held << " of 50 rounds");
}
