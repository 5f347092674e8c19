#include "common/rate_table.hpp"

#include "common/child_path.hpp"
#include "os/sys_error.hpp"

#include <sys/mman.h>
#include <sys/random.h>

#include <limits>

namespace echod {
namespace {

constexpr std::int64_t ns_per_second = 1'000'000'000;
// A source whose slot another process takes at the same moment tries again, this often.
constexpr int claim_attempts = 4;

ECHOD_CHILD_PATH std::uint64_t mixed(std::uint64_t h)
{
    h ^= h >> 33;  // splitmix64's finaliser: the home slot uses every bit of the hash
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

}  // namespace

RateTable::RateTable() : RateTable(random_seed()) {}

std::uint64_t RateTable::random_seed()
{
    std::uint64_t seed = 0;
    if (::getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
        throw_sys_error("getrandom (rate bucket seed)");
    }
    return seed;
}

RateTable::RateTable(std::uint64_t seed) : seed_(seed)
{
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                      std::atomic<std::int64_t>::is_always_lock_free,
                  "buckets are shared between processes: their atomics must not need locks");
    void* memory = ::mmap(nullptr, sizeof(Slot) * slot_count, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) {
        throw_sys_error("mmap (rate buckets)");
    }
    slots_ = static_cast<Slot*>(memory);  // zero pages: every slot free
}

RateTable::~RateTable()
{
    ::munmap(slots_, sizeof(Slot) * slot_count);
}

ECHOD_CHILD_PATH std::uint64_t RateTable::hash(const SourceKey& source) const noexcept
{
    return mixed(SourceKeyHash{}(source) ^ seed_);
}

ECHOD_CHILD_PATH std::size_t RateTable::home_of(std::uint64_t h) noexcept
{
    return static_cast<std::size_t>(h >> 40) & (slot_count - 1);
}

std::size_t RateTable::home(const SourceKey& source) const noexcept
{
    return home_of(hash(source));
}

ECHOD_CHILD_PATH bool RateTable::take(const SourceKey& source, const Rate& rate,
                                      Clock::time_point now_point) noexcept
{
    if (rate.per_second == 0) {
        return true;
    }
    const std::int64_t now = now_point.time_since_epoch().count();
    const std::int64_t interval = ns_per_second / rate.per_second;
    const std::int64_t burst = rate.burst > 0 ? rate.burst : 1;
    const std::uint64_t h = hash(source);
    const std::uint64_t tag = h != 0 ? h : 1;
    const std::size_t home = home_of(h);
    for (int attempt = 0; attempt < claim_attempts; ++attempt) {
        Slot* victim = nullptr;
        std::uint64_t victim_tag = 0;
        std::int64_t victim_full_at = std::numeric_limits<std::int64_t>::max();
        bool victim_reusable = false;
        for (std::size_t i = 0; i < probe_window; ++i) {
            Slot& slot = slots_[(home + i) & (slot_count - 1)];
            const std::uint64_t seen = slot.tag.load(std::memory_order_acquire);
            if (seen == tag) {
                return take_from(slot, interval, burst, now);
            }
            const std::int64_t full_at = slot.full_at.load(std::memory_order_relaxed);
            const bool reusable = seen == 0 || full_at <= now;
            if (victim_reusable) {
                continue;  // keep looking for the source itself, but the victim is chosen
            }
            if (reusable || full_at < victim_full_at) {
                victim = &slot;
                victim_tag = seen;
                victim_full_at = full_at;
                victim_reusable = reusable;
            }
        }
        // A new source (or one that was forgotten): claim the slot. Its bucket starts full.
        // A free bucket or one full again already is (full_at <= now). Only a refilling
        // one is made full, and only if nobody took from it since: from the moment the tag
        // is ours, another process serving this source takes from this slot, and storing
        // `now` over its token would hand that token out a second time.
        if (victim->tag.compare_exchange_strong(victim_tag, tag, std::memory_order_acq_rel)) {
            if (!victim_reusable) {
                victim->full_at.compare_exchange_strong(victim_full_at, now,
                                                        std::memory_order_acq_rel);
            }
            return take_from(*victim, interval, burst, now);
        }
    }
    return true;  // others keep taking these slots: let this one through uncounted
}

// One token, if the bucket has one. A slot taken over by another source between the look
// up and here makes this connection count against that source: the buckets are a
// throttle, not an account.
ECHOD_CHILD_PATH bool RateTable::take_from(Slot& slot, std::int64_t interval,
                                           std::int64_t burst, std::int64_t now) noexcept
{
    std::int64_t full_at = slot.full_at.load(std::memory_order_acquire);
    for (;;) {
        const std::int64_t next = (full_at > now ? full_at : now) + interval;
        if (next - now > interval * burst) {
            return false;
        }
        if (slot.full_at.compare_exchange_weak(full_at, next, std::memory_order_acq_rel)) {
            return true;
        }
    }
}

}  // namespace echod
