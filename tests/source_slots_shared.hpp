// What source_slots_test and its worker program (source_slots_worker) both know: the keys
// they count, where the worker finds the shared table and counters, and how it reports.
#pragma once

#include "common/source_slots.hpp"
#include "os/address.hpp"
#include "os/sys_error.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <vector>

namespace echod::test {

// The descriptors a worker finds the table (a file SourceSlots::create_in set up) and the
// counters on; the test passes them on argv too.
constexpr int worker_table_fd = 3;
constexpr int worker_counters_fd = 4;

// Exit statuses of `check`: the outcome for the fresh source (anything else: it failed).
constexpr int check_counted = 0;
constexpr int check_refused = 10;
constexpr int check_uncounted = 11;

// The key echod makes for a client at `address` (host byte order).
inline SourceKey ipv4_key(std::uint32_t address)
{
    Endpoint peer;
    auto* in = reinterpret_cast<sockaddr_in*>(&peer.storage);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(address);
    peer.length = sizeof *in;
    return source_key(peer);
}

// Up to `n` IPv4 sources (10.0.0.0/8) whose probe chains all start at the same slot; the
// caller checks that it got `n`.
inline std::vector<SourceKey> colliding_sources(std::size_t n)
{
    const std::size_t home = SourceSlots::home(ipv4_key(0x0a000000));
    std::vector<SourceKey> keys{ipv4_key(0x0a000000)};
    for (std::uint32_t a = 0x0a000001; a < 0x0b000000 && keys.size() < n; ++a) {
        if (SourceSlots::home(ipv4_key(a)) == home) {
            keys.push_back(ipv4_key(a));
        }
    }
    return keys;
}

constexpr std::size_t contended_sources = 12;

// Shared by the test and its `contend` workers, in a file of its own.
struct Counters {
    std::atomic<int> holding[contended_sources];  // connections counted per source, as seen
    std::atomic<int> over_limit;  // times a worker saw more than the limit counted
    std::atomic<int> duplicated;  // times a source was found in two slots
    std::atomic<int> uncounted;
    std::atomic<int> ready;       // workers waiting for `go`
    std::atomic<bool> go;
};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free,
              "shared between processes");

// Maps the counters in `fd` (sized by the test).
inline Counters* map_counters(int fd)
{
    void* memory =
        ::mmap(nullptr, sizeof(Counters), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (memory == MAP_FAILED) {
        throw_sys_error("mmap (counters)");
    }
    return static_cast<Counters*>(memory);
}

}  // namespace echod::test
