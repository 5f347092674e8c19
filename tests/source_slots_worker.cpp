// A process of source_slots_test: it counts sources in the table the test set up, as a
// prefork child does, so that the test can run several at once, kill one or stop one
// without forking itself. The table (and for `contend` the counters) is on the descriptors
// named on the command line (source_slots_shared.hpp).
//
//   source_slots_worker contend TABLE_FD COUNTERS_FD SEED
//       waits for `go`, then for 300 ms counts a random one of the colliding sources with
//       limit 1, checks, and releases it; what it sees goes in the counters.
//   source_slots_worker insert TABLE_FD FIRST
//       inserts and removes new sources (FIRST, FIRST + 1, ...) without pause, each insert
//       taking the lock; prints "ready" once every page of the table is mapped, then goes on
//       until killed (30 s at most).
//   source_slots_worker check TABLE_FD ADDRESS
//       counts the new source ADDRESS with a child's wait, then ADDRESS + 1 without one (the
//       master's call); prints both outcomes and how long each took, and exits with the
//       first (check_counted, ...).
//
// Exit status 1: bad arguments; 2: an error, on stderr.
#include "source_slots_shared.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <random>
#include <string>

using echod::SourceKey;
using echod::SourceSlots;
using Outcome = SourceSlots::Outcome;
using namespace echod::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

void pause_briefly()
{
    const timespec interval{0, 50000};
    ::nanosleep(&interval, nullptr);
}

int contend(SourceSlots& slots, Counters& counters, unsigned seed)
{
    const std::vector<SourceKey> keys = colliding_sources(contended_sources);
    if (keys.size() != contended_sources) {
        std::fprintf(stderr, "contend: too few colliding sources\n");
        return 2;
    }
    std::minstd_rand random(seed);
    counters.ready.fetch_add(1);
    const auto give_up = Clock::now() + 10s;
    while (!counters.go.load()) {
        if (Clock::now() > give_up) {
            std::fprintf(stderr, "contend: no go within 10 s\n");
            return 2;
        }
        pause_briefly();
    }
    const auto end = Clock::now() + 300ms;
    while (Clock::now() < end) {
        const std::size_t i = random() % keys.size();
        const Outcome outcome = slots.try_add(keys[i], 1);
        if (outcome == Outcome::uncounted) {
            counters.uncounted.fetch_add(1);
        }
        if (outcome != Outcome::counted) {
            continue;
        }
        if (counters.holding[i].fetch_add(1) + 1 > 1) {
            counters.over_limit.fetch_add(1);
        }
        if (slots.slots_holding(keys[i]) > 1) {
            counters.duplicated.fetch_add(1);
        }
        counters.holding[i].fetch_sub(1);
        slots.remove(keys[i]);
    }
    return 0;
}

// Before "ready" the worker mostly takes page faults (its mapping of the table is new),
// and a signal arrives as a fault returns, outside the lock; after it, a stop lands inside
// the lock about as often as the loop is inside it. 2^16 sources touch every page of the
// 4 MiB table with near certainty (1024 pages).
int insert(SourceSlots& slots, std::uint32_t first)
{
    constexpr std::uint32_t warm_up = 1u << 16;
    const auto give_up = Clock::now() + 30s;
    for (std::uint32_t i = 0; i < (1u << 31); ++i) {
        const SourceKey key = ipv4_key(first + (i & 0xfffffu));
        slots.try_add(key, 1);
        slots.remove(key);
        if (i == warm_up) {
            static const char ready[] = "ready\n";
            if (!echod::write_full(STDOUT_FILENO, ready, sizeof ready - 1)) {
                return 2;
            }
        }
        if ((i & 0xfffu) == 0 && Clock::now() > give_up) {
            return 0;
        }
    }
    return 0;
}

const char* name(Outcome outcome)
{
    switch (outcome) {
    case Outcome::counted: return "counted";
    case Outcome::refused: return "refused";
    case Outcome::uncounted: return "uncounted";
    }
    return "?";
}

int check(SourceSlots& slots, std::uint32_t address)
{
    ::alarm(10);  // a lock left held must fail the test, not hang it
    const auto start = Clock::now();
    const Outcome waited = slots.try_add(ipv4_key(address), 1);
    const auto middle = Clock::now();
    const Outcome at_once = slots.try_add(ipv4_key(address + 1), 1, 0ms);
    const auto end = Clock::now();
    using std::chrono::duration_cast;
    using std::chrono::microseconds;
    std::printf("waited=%s waited_us=%lld at_once=%s at_once_us=%lld\n", name(waited),
                static_cast<long long>(duration_cast<microseconds>(middle - start).count()),
                name(at_once),
                static_cast<long long>(duration_cast<microseconds>(end - middle).count()));
    std::fflush(stdout);
    switch (waited) {
    case Outcome::counted: return check_counted;
    case Outcome::refused: return check_refused;
    case Outcome::uncounted: return check_uncounted;
    }
    return 2;
}

bool number(const char* text, unsigned long& value)
{
    char* end = nullptr;
    errno = 0;
    value = std::strtoul(text, &end, 0);
    return errno == 0 && end != text && *end == '\0';
}

}  // namespace

int main(int argc, char** argv)
{
    // Dies with the test even if the test dies without killing it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    unsigned long table_fd = 0;
    unsigned long arg = 0;
    if (argc < 4 || !number(argv[2], table_fd) || !number(argv[argc - 1], arg)) {
        std::fprintf(stderr, "usage: source_slots_worker contend|insert|check TABLE_FD ...\n");
        return 1;
    }
    const std::string mode = argv[1];
    try {
        SourceSlots slots = SourceSlots::attach_to(static_cast<int>(table_fd));
        if (mode == "contend" && argc == 5) {
            unsigned long counters_fd = 0;
            if (!number(argv[3], counters_fd)) {
                return 1;
            }
            Counters* counters = map_counters(static_cast<int>(counters_fd));
            return contend(slots, *counters, static_cast<unsigned>(arg));
        }
        if (mode == "insert" && argc == 4) {
            return insert(slots, static_cast<std::uint32_t>(arg));
        }
        if (mode == "check" && argc == 4) {
            return check(slots, static_cast<std::uint32_t>(arg));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "source_slots_worker %s: %s\n", mode.c_str(), e.what());
        return 2;
    }
    std::fprintf(stderr, "source_slots_worker: unknown mode or arguments\n");
    return 1;
}
