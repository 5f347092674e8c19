#include "common/source_slots.hpp"

#include "common/child_path.hpp"
#include "os/sys_error.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include <cerrno>

namespace echod {
namespace {

// One slot is one 64-bit word: a 40-bit tag (a hash of the source, never 0) and a 24-bit
// count. Counts change only by compare-and-swap, without a lock. A slot once used keeps a
// tag, so a probe chain ends at the first slot that is still 0; a slot whose count is 0 may
// take another tag. Giving a slot a tag is the one change made under a lock: two processes
// inserting the same new source at once could otherwise each claim a different free slot
// (one saw a slot free up that the other had already passed), and the source, counted in
// two slots, could exceed its limit.
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
std::uint64_t tag_for(std::uint64_t h) { return (h >> 24) | 1; }

// The insertion lock: process-shared, and robust, so that a child killed while it
// holds it (SIGKILL between two instructions) does not lock out every new source. Nothing
// needs repair then: the table changes only by single compare-and-swaps. A holder that is
// stopped (SIGSTOP, a debugger) is waited for `wait` at most; then, as for any other
// failure to lock, the connection goes uncounted, as when the table is full.
class InsertLock {
public:
    InsertLock(pthread_mutex_t& mutex, std::chrono::milliseconds wait) : mutex_(mutex)
    {
        int result = 0;
        if (wait.count() == 0) {
            result = ::pthread_mutex_trylock(&mutex_);
        } else {
            timespec deadline{};
            ::clock_gettime(CLOCK_MONOTONIC, &deadline);
            const long long nanoseconds =
                deadline.tv_nsec + static_cast<long long>(wait.count()) * 1000000LL;
            deadline.tv_sec += static_cast<time_t>(nanoseconds / 1000000000LL);
            deadline.tv_nsec = static_cast<long>(nanoseconds % 1000000000LL);
            result = ::pthread_mutex_clocklock(&mutex_, CLOCK_MONOTONIC, &deadline);
        }
        if (result == EOWNERDEAD) {
            ::pthread_mutex_consistent(&mutex_);
        }
        locked_ = result == 0 || result == EOWNERDEAD;
    }
    ~InsertLock()
    {
        if (locked_) {
            ::pthread_mutex_unlock(&mutex_);
        }
    }
    InsertLock(const InsertLock&) = delete;
    InsertLock& operator=(const InsertLock&) = delete;

    bool locked() const { return locked_; }

private:
    pthread_mutex_t& mutex_;
    bool locked_ = false;
};

}  // namespace

struct SourceSlots::Shared {
    pthread_mutex_t insert_lock;
    alignas(64) std::atomic<std::uint64_t> slots[slot_count];
};

// What a probe of one chain found: the source's slot (and the word read there), else the
// first free slot, if any.
struct SourceSlots::Probe {
    std::atomic<std::uint64_t>* found = nullptr;
    std::uint64_t found_word = 0;
    std::atomic<std::uint64_t>* free = nullptr;
    std::uint64_t free_word = 0;
};

SourceSlots::SourceSlots() : SourceSlots(-1, true) {}

SourceSlots SourceSlots::create_in(int fd)
{
    check_sys(::ftruncate(fd, static_cast<off_t>(sizeof(Shared))),
              "ftruncate (per-source table)");
    return SourceSlots(fd, true);
}

SourceSlots SourceSlots::attach_to(int fd)
{
    struct stat file{};
    check_sys(::fstat(fd, &file), "fstat (per-source table)");
    if (static_cast<std::size_t>(file.st_size) < sizeof(Shared)) {
        throw_sys_error("mmap (per-source table)", EINVAL);  // would fault past its end
    }
    return SourceSlots(fd, false);
}

SourceSlots::SourceSlots(int fd, bool set_up) : owns_lock_(set_up)
{
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
                  "the table is shared between processes: its atomics must not need locks");
    const int anonymous = fd < 0 ? MAP_ANONYMOUS : 0;
    void* table = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE,
                         MAP_SHARED | anonymous | MAP_NORESERVE, fd, 0);
    if (table == MAP_FAILED) {
        throw_sys_error("mmap (per-source table)");
    }
    shared_ = static_cast<Shared*>(table);  // zero pages: every slot empty
    if (!set_up) {
        return;
    }
    pthread_mutexattr_t attributes;
    ::pthread_mutexattr_init(&attributes);
    ::pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    ::pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    const int error = ::pthread_mutex_init(&shared_->insert_lock, &attributes);
    ::pthread_mutexattr_destroy(&attributes);
    if (error != 0) {
        ::munmap(shared_, sizeof(Shared));
        throw_sys_error("pthread_mutex_init (per-source table)", error);
    }
}

SourceSlots::~SourceSlots()
{
    if (owns_lock_) {
        ::pthread_mutex_destroy(&shared_->insert_lock);
    }
    ::munmap(shared_, sizeof(Shared));
}

std::size_t SourceSlots::home(const SourceKey& source)
{
    return hash(source) & (slot_count - 1);
}

ECHOD_CHILD_PATH SourceSlots::Probe SourceSlots::probe(std::uint64_t h, std::uint64_t tag) const
{
    Probe result;
    for (std::size_t i = 0; i < probe_limit; ++i) {
        std::atomic<std::uint64_t>& slot = shared_->slots[(h + i) & (slot_count - 1)];
        const std::uint64_t word = slot.load(std::memory_order_acquire);
        if (tag_of(word) == tag) {
            result.found = &slot;
            result.found_word = word;
            return result;
        }
        if (count_of(word) == 0 && result.free == nullptr) {
            result.free = &slot;
            result.free_word = word;
        }
        if (word == 0) {
            break;  // the end of the chain: the source is not in the table
        }
    }
    return result;
}

ECHOD_CHILD_PATH SourceSlots::Outcome SourceSlots::try_add(const SourceKey& source, unsigned limit,
                                          std::chrono::milliseconds wait)
{
    const std::uint64_t h = hash(source);
    const std::uint64_t tag = tag_for(h);
    for (int attempt = 0; attempt < cas_attempts; ++attempt) {
        Probe found = probe(h, tag);
        if (found.found == nullptr) {
            return insert(h, tag, limit, wait);
        }
        if (count_of(found.found_word) >= limit) {
            return Outcome::refused;
        }
        if (found.found->compare_exchange_strong(found.found_word, found.found_word + 1)) {
            return Outcome::counted;
        }
        // Another process changed the count: look again.
    }
    return Outcome::uncounted;
}

ECHOD_CHILD_PATH SourceSlots::Outcome SourceSlots::insert(std::uint64_t h, std::uint64_t tag,
                                                         unsigned limit,
                                                         std::chrono::milliseconds wait)
{
    InsertLock lock(shared_->insert_lock, wait);
    if (!lock.locked()) {
        return Outcome::uncounted;
    }
    for (int attempt = 0; attempt < cas_attempts; ++attempt) {
        Probe found = probe(h, tag);
        if (found.found != nullptr) {  // inserted by the process that held the lock before
            if (count_of(found.found_word) >= limit) {
                return Outcome::refused;
            }
            if (found.found->compare_exchange_strong(found.found_word, found.found_word + 1)) {
                return Outcome::counted;
            }
            continue;
        }
        if (found.free == nullptr) {
            return Outcome::uncounted;
        }
        // Fails only if the free slot's own source came back meanwhile: look again.
        if (found.free->compare_exchange_strong(found.free_word, (tag << 24) | 1)) {
            return Outcome::counted;
        }
    }
    return Outcome::uncounted;
}

ECHOD_CHILD_PATH void SourceSlots::remove(const SourceKey& source)
{
    const std::uint64_t h = hash(source);
    const std::uint64_t tag = tag_for(h);
    for (std::size_t i = 0; i < probe_limit; ++i) {
        std::atomic<std::uint64_t>& slot = shared_->slots[(h + i) & (slot_count - 1)];
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

unsigned SourceSlots::count(const SourceKey& source) const
{
    const std::uint64_t h = hash(source);
    const Probe found = probe(h, tag_for(h));
    return found.found != nullptr ? static_cast<unsigned>(count_of(found.found_word)) : 0;
}

std::size_t SourceSlots::slots_holding(const SourceKey& source) const
{
    const std::uint64_t h = hash(source);
    const std::uint64_t tag = tag_for(h);
    std::size_t holding = 0;
    for (std::size_t i = 0; i < probe_limit; ++i) {
        const std::uint64_t word =
            shared_->slots[(h + i) & (slot_count - 1)].load(std::memory_order_acquire);
        holding += tag_of(word) == tag ? 1 : 0;
        if (word == 0) {
            break;
        }
    }
    return holding;
}

}  // namespace echod
