// Connections at once per client and per client network, counted in one place for both
// modes: a table in memory shared by the master and all its children (SourceSlots), and a
// hold record per child that says what it has counted there.
//
// Whoever accepts a connection counts it before a byte is echoed: the master before it
// forks (fork mode, so a refused client costs no process), a prefork child after accept4.
// The child releases its counts itself when its connection ends, before it reports and
// closes, so a client that sees its connection closed is never refused for it. The master
// releases what a child still holds when it reaps it: a child killed at any moment (SIGKILL,
// the OOM killer) leaks nothing. Counting goes on with a limit off (0), so a reload that
// turns one on sees the connections already open.
#pragma once

#include "common/source_slots.hpp"
#include "os/master_only.hpp"
#include "os/address.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace echod {

class ClientCounts {
public:
    struct Limits {
        unsigned per_source = 0;   // 0: none
        unsigned per_network = 0;  // 0: none
    };
    enum class Verdict : std::uint8_t { admitted = 0, source_full, network_full };

    // Maps the shared memory: before the first fork, so that every child shares it.
    ClientCounts();
    ~ClientCounts();
    ClientCounts(const ClientCounts&) = delete;
    ClientCounts& operator=(const ClientCounts&) = delete;

    // Master: a hold record for a child about to be forked, or -1 when every record is in
    // use (its connections then go uncounted, as when the table is full).
    int reserve();
    // Master, once the child is reaped (or was never forked): releases what it still held.
    void reap(int hold);

    // Counts `peer` in `hold` unless its source or its network is at its limit. A new source
    // needs the insertion lock: a child waits child_wait at most for a holder that is
    // stopped, the master (`wait` 0) not at all; then the connection goes uncounted.
    static constexpr std::chrono::milliseconds child_wait{100};
    Verdict admit(int hold, const Endpoint& peer, const Limits& limits,
                  std::chrono::milliseconds wait);
    // The connection counted in `hold` ended. Called by the child; harmless if nothing is
    // held.
    void release(int hold);

    // Connections counted now for a source_key() or a network_key().
    unsigned count(const SourceKey& key) const { return slots_.count(key); }

private:
    struct Hold;
    Hold* hold(int index) const;

    SourceSlots slots_;
    Hold* holds_;
    // The master's alone, and written on every connection: master-only memory
    // (os/master_only.hpp), while this object stays readable by the children.
    struct Unused {
        std::vector<int, MasterOnlyAllocator<int>> free;  // the most recently freed last
        int next = 0;  // records from here on were never used
    };
    MasterOnlyPtr<Unused> unused_ = make_master_only<Unused>();
};

}  // namespace echod
