// Connections per key (a source_key or a network_key), counted in memory shared by the
// master and all its children, so that whoever accepts a connection (the master in fork
// mode, a child in prefork mode) counts it before a byte is echoed, and a child can take
// its own count back. ClientCounts (client_counts.hpp) says who holds what.
#pragma once

#include "os/address.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace echod {

class SourceSlots {
public:
    enum class Outcome { counted, refused, uncounted };

    // Maps the table (MAP_SHARED, so children forked later share it). Only the pages that
    // sources hash to are ever touched.
    SourceSlots();
    ~SourceSlots();
    SourceSlots(const SourceSlots&) = delete;
    SourceSlots& operator=(const SourceSlots&) = delete;

    // A testing seam, not used by echod: the table in a file instead of an anonymous
    // mapping, so that processes the test starts with posix_spawn (a test never forks)
    // share it as forked children do. create_in sizes `fd` (a new, empty file: memfd_create)
    // and sets the table up in it; attach_to maps a file create_in set up, which stays
    // another process's to set up and tear down. `fd` may be closed afterwards.
    static SourceSlots create_in(int fd);
    static SourceSlots attach_to(int fd);

    // Counts one more connection from `source` unless it already has `limit`. `uncounted`
    // when the table cannot place it (never in practice: it is 4 times max_children's
    // largest value), or when a new source needs the insertion lock and another process
    // holds it for longer than `wait` (stopped while it held it); the connection is then
    // served without a per-source limit. The master, which must never block, passes 0.
    Outcome try_add(const SourceKey& source, unsigned limit,
                    std::chrono::milliseconds wait = std::chrono::milliseconds(100));
    // A counted connection from `source` ended.
    void remove(const SourceKey& source);

    // How many connections from `source` are counted now.
    unsigned count(const SourceKey& source) const;

    // How many slots hold `source` (0 or 1, unless insertion raced). For tests.
    std::size_t slots_holding(const SourceKey& source) const;
    // The slot the probe chain of `source` starts at. For tests: sources with the same home
    // share one chain.
    static std::size_t home(const SourceKey& source);

private:
    struct Shared;  // the insertion lock and the slots, in one MAP_SHARED mapping
    struct Probe;
    Probe probe(std::uint64_t h, std::uint64_t tag) const;
    Outcome insert(std::uint64_t h, std::uint64_t tag, unsigned limit,
                   std::chrono::milliseconds wait);

    SourceSlots(int fd, bool set_up);  // fd -1: anonymous

    Shared* shared_;
    bool owns_lock_;  // set the insertion lock up, so destroys it
};

}  // namespace echod
