// New connections (or datagrams) per second per source: a token bucket per source_key(),
// in memory shared by the master and all its children, so that whoever admits a client
// (the master before it forks, a prefork child after accept4, any child after a PROXY
// header) takes from the same bucket.
//
// Each bucket is one 64-bit word, its theoretical arrival time (GCRA, the generic cell
// rate algorithm): the moment the bucket will be full again. A connection at `now` takes a
// token when that moment, pushed one interval (1 s / per_second) further, is at most
// `burst` intervals ahead of now. A compare-and-swap updates it, so nothing is locked, and a
// process killed at any instruction leaves a valid bucket.
//
// The table is bounded: slot_count slots (16 bytes each, 1 MiB in all, pages touched as
// sources hash to them). A source looks at probe_window slots from its home slot. A new
// source takes a free slot, or else one whose bucket is full again (forgetting it loses
// nothing), or else, when every slot in its window is a bucket still refilling, the one
// nearest to full: that source starts again with a full bucket, so it may get up to
// `burst` connections more than its rate. A source is never refused because the table is
// full.
#pragma once

#include "os/address.hpp"
#include "os/clock.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace echod {

class RateTable {
public:
    struct Rate {
        unsigned per_second = 0;  // 0: no limit
        unsigned burst = 1;       // tokens when full; at least 1
    };

    static constexpr std::size_t slot_count = std::size_t{1} << 16;
    static constexpr std::size_t probe_window = 8;

    // Maps the table (MAP_SHARED, so children forked later share it). The hash that places
    // a source is keyed with a random seed drawn here, so no one can work out in advance
    // which sources share a probe window (sources crowding one window would make each
    // other forgotten, and each come back to a full bucket).
    RateTable();
    explicit RateTable(std::uint64_t seed);  // for tests: a known placement
    ~RateTable();
    RateTable(const RateTable&) = delete;
    RateTable& operator=(const RateTable&) = delete;

    // Takes one token from `source`'s bucket; false when it is empty (the connection is
    // over the rate). Always true when rate.per_second is 0.
    bool take(const SourceKey& source, const Rate& rate, Clock::time_point now) noexcept;

    // The first slot of `source`'s probe window. For tests: sources with one home share it.
    std::size_t home(const SourceKey& source) const noexcept;

private:
    struct Slot {
        std::atomic<std::uint64_t> tag;  // a hash of the source, never 0; 0: free
        std::atomic<std::int64_t> full_at;  // ns on the monotonic clock
    };
    static std::uint64_t random_seed();
    std::uint64_t hash(const SourceKey& source) const noexcept;
    static std::size_t home_of(std::uint64_t hash) noexcept;
    static bool take_from(Slot& slot, std::int64_t interval, std::int64_t burst,
                          std::int64_t now) noexcept;

    std::uint64_t seed_;
    Slot* slots_;
};

}  // namespace echod
