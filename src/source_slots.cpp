#include "source_slots.hpp"

#include "sys_error.hpp"

#include <sys/mman.h>

namespace echod {
namespace {

// One slot is one 64-bit word, changed only by compare-and-swap: a 40-bit tag (a hash of
// the source, never 0) and a 24-bit count. A slot once used keeps a tag, so a probe chain
// ends at the first slot that is still 0; a slot whose count is 0 may take another tag.
constexpr std::size_t slot_count = std::size_t{1} << 19;  // 4 MiB of address space
constexpr std::size_t probe_limit = 512;
constexpr int cas_attempts = 10000;
constexpr std::uint64_t count_mask = (std::uint64_t{1} << 24) - 1;

std::uint64_t hash(const SourceKey& source)
{
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a
    for (std::uint8_t byte : source.bytes) {
        h = (h ^ byte) * 1099511628211ull;
    }
    return h;
}

std::uint64_t tag_of(std::uint64_t word) { return word >> 24; }
std::uint64_t count_of(std::uint64_t word) { return word & count_mask; }

}  // namespace

SourceSlots::SourceSlots()
{
    void* table = ::mmap(nullptr, slot_count * sizeof *slots_, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (table == MAP_FAILED) {
        throw_sys_error("mmap (per-source table)");
    }
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
                  "the table is shared between processes: its atomics must not need locks");
    slots_ = static_cast<std::atomic<std::uint64_t>*>(table);  // zero pages: every slot empty
}

SourceSlots::~SourceSlots()
{
    ::munmap(slots_, slot_count * sizeof *slots_);
}

SourceSlots::Outcome SourceSlots::try_add(const SourceKey& source, unsigned limit)
{
    const std::uint64_t h = hash(source);
    const std::uint64_t tag = (h >> 24) | 1;
    for (int attempt = 0; attempt < cas_attempts; ++attempt) {
        std::atomic<std::uint64_t>* free_slot = nullptr;
        std::uint64_t free_word = 0;
        bool retry = false;
        for (std::size_t i = 0; i < probe_limit && !retry; ++i) {
            std::atomic<std::uint64_t>& slot = slots_[(h + i) & (slot_count - 1)];
            std::uint64_t word = slot.load(std::memory_order_acquire);
            if (tag_of(word) == tag) {
                if (count_of(word) >= limit) {
                    return Outcome::refused;
                }
                if (slot.compare_exchange_strong(word, word + 1)) {
                    return Outcome::counted;
                }
                retry = true;  // another process changed the count: look again
            } else if (count_of(word) == 0 && free_slot == nullptr) {
                free_slot = &slot;
                free_word = word;
            }
            if (word == 0) {
                break;  // the end of the chain: the source is not in the table
            }
        }
        if (retry) {
            continue;
        }
        if (free_slot == nullptr) {
            return Outcome::uncounted;
        }
        if (free_slot->compare_exchange_strong(free_word, (tag << 24) | 1)) {
            return Outcome::counted;
        }
    }
    return Outcome::uncounted;
}

void SourceSlots::remove(const SourceKey& source)
{
    const std::uint64_t h = hash(source);
    const std::uint64_t tag = (h >> 24) | 1;
    for (std::size_t i = 0; i < probe_limit; ++i) {
        std::atomic<std::uint64_t>& slot = slots_[(h + i) & (slot_count - 1)];
        std::uint64_t word = slot.load(std::memory_order_acquire);
        while (tag_of(word) == tag && count_of(word) > 0) {
            if (slot.compare_exchange_weak(word, word - 1)) {
                return;
            }
        }
        if (word == 0) {
            return;
        }
    }
}

}  // namespace echod
