#include "common/client_counts.hpp"

#include "common/child_path.hpp"
#include "os/sys_error.hpp"

#include <sys/mman.h>

#include <atomic>
#include <climits>

namespace echod {
namespace {

// More than the children that can live at once: max_children at its largest, the spares,
// and the children still draining after reloads.
constexpr int hold_count = 1 << 18;

constexpr std::uint32_t source_held = 1;
constexpr std::uint32_t network_held = 2;

}  // namespace

// What one child has counted. The bits are set before the count is taken and cleared if it
// was not: a child killed between the two leaves a bit whose count the master then takes
// back without it having been added. That can let one more connection in for as long as
// the source has others open; the other order would leak a count for good.
struct ClientCounts::Hold {
    std::atomic<std::uint32_t> held;
    SourceKey source;
    SourceKey network;
};

ClientCounts::ClientCounts()
{
    static_assert(std::atomic<std::uint32_t>::is_always_lock_free,
                  "holds are shared between processes: their atomics must not need locks");
    void* memory = ::mmap(nullptr, sizeof(Hold) * hold_count, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) {
        throw_sys_error("mmap (per-child holds)");
    }
    holds_ = static_cast<Hold*>(memory);  // zero pages: nothing held
    // Room for every record at once, so reap() never allocates: it runs when fork failed,
    // perhaps for want of memory. Master-only pages, touched only as they fill.
    unused_->free.reserve(hold_count);
}

ClientCounts::~ClientCounts()
{
    ::munmap(holds_, sizeof(Hold) * hold_count);
}

ECHOD_CHILD_PATH ClientCounts::Hold* ClientCounts::hold(int index) const
{
    return index >= 0 && index < hold_count ? &holds_[index] : nullptr;
}

int ClientCounts::reserve()
{
    std::vector<int, MasterOnlyAllocator<int>>& free = unused_->free;
    if (!free.empty()) {
        const int index = free.back();
        free.pop_back();
        return index;
    }
    return unused_->next < hold_count ? unused_->next++ : -1;
}

void ClientCounts::reap(int index)
{
    if (hold(index) != nullptr) {
        release(index);
        unused_->free.push_back(index);
    }
}

ECHOD_CHILD_PATH ClientCounts::Verdict ClientCounts::admit(int index, const Endpoint& peer,
                                                           const Limits& limits,
                                                           std::chrono::milliseconds wait)
{
    Hold* record = hold(index);
    if (record == nullptr) {
        return Verdict::admitted;  // uncounted
    }
    // With a limit off the count goes on (a reload may turn it on), never refused.
    auto limit = [](unsigned configured) { return configured > 0 ? configured : UINT_MAX; };
    record->source = source_key(peer);
    record->network = network_key(peer);
    record->held.store(source_held, std::memory_order_release);
    const auto source = slots_.try_add(record->source, limit(limits.per_source), wait);
    if (source != SourceSlots::Outcome::counted) {
        record->held.store(0, std::memory_order_release);
        if (source == SourceSlots::Outcome::refused) {
            return Verdict::source_full;
        }
    }
    record->held.fetch_or(network_held, std::memory_order_acq_rel);
    const auto network = slots_.try_add(record->network, limit(limits.per_network), wait);
    if (network != SourceSlots::Outcome::counted) {
        record->held.fetch_and(~network_held, std::memory_order_acq_rel);
        if (network == SourceSlots::Outcome::refused) {
            release(index);
            return Verdict::network_full;
        }
    }
    return Verdict::admitted;
}

ECHOD_CHILD_PATH void ClientCounts::release(int index)
{
    Hold* record = hold(index);
    if (record == nullptr) {
        return;
    }
    const std::uint32_t held = record->held.exchange(0, std::memory_order_acq_rel);
    if ((held & source_held) != 0) {
        slots_.remove(record->source);
    }
    if ((held & network_held) != 0) {
        slots_.remove(record->network);
    }
}

}  // namespace echod
