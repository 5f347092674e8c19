#include "os/master_only.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif
#include <sys/mman.h>
#include <unistd.h>

#include <array>

namespace echod {
namespace {

constexpr std::size_t chunk_size = 64 * 1024;
constexpr std::size_t smallest_class = 16;
constexpr std::size_t class_count = 9;  // 16, 32, ... 4096
constexpr std::size_t largest_class = smallest_class << (class_count - 1);

std::size_t page_rounded(std::size_t bytes)
{
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return (bytes + page - 1) / page * page;
}

std::size_t class_of(std::size_t bytes)
{
    std::size_t index = 0;
    while ((smallest_class << index) < bytes) {
        ++index;
    }
    return index;
}

struct FreeBlock {
    FreeBlock* next;
};

// The allocator's own state. Itself written on every allocation, so it lives in the
// first chunk's pages rather than in the master's data segment.
struct Pool {
    std::array<FreeBlock*, class_count> free{};
    char* chunk_next = nullptr;
    char* chunk_end = nullptr;
};

Pool& pool()
{
    static Pool* const instance = [] {
        char* chunk = static_cast<char*>(map_master_only(chunk_size));
        Pool* created = new (chunk) Pool();
        const std::size_t header =
            (sizeof(Pool) + smallest_class - 1) / smallest_class * smallest_class;
        created->chunk_next = chunk + header;
        created->chunk_end = chunk + chunk_size;
        return created;
    }();
    return *instance;
}

}  // namespace

void* map_master_only(std::size_t bytes)
{
    const std::size_t length = page_rounded(bytes);
    void* memory = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
    if (memory == MAP_FAILED) {
        throw std::bad_alloc();
    }
    // Without it the memory is still correct, only copied into every child: not an error.
    ::madvise(memory, length, MADV_DONTFORK);
#if defined(__SANITIZE_ADDRESS__)
    // The leak checker does not scan MADV_DONTFORK mappings: what only the master-only
    // objects point to would look leaked.
    __lsan_register_root_region(memory, length);
#endif
    return memory;
}

void unmap_master_only(void* memory, std::size_t bytes) noexcept
{
#if defined(__SANITIZE_ADDRESS__)
    __lsan_unregister_root_region(memory, page_rounded(bytes));
#endif
    ::munmap(memory, page_rounded(bytes));
}

void* master_only_allocate(std::size_t bytes)
{
    if (bytes > largest_class) {
        return map_master_only(bytes);
    }
    Pool& p = pool();
    const std::size_t index = class_of(bytes);
    if (FreeBlock* block = p.free[index]) {
        p.free[index] = block->next;
        return block;
    }
    const std::size_t size = smallest_class << index;
    if (static_cast<std::size_t>(p.chunk_end - p.chunk_next) < size) {
        // The rest of the old chunk is left unused: at most 4 KiB per 64 KiB.
        p.chunk_next = static_cast<char*>(map_master_only(chunk_size));
        p.chunk_end = p.chunk_next + chunk_size;
    }
    void* block = p.chunk_next;
    p.chunk_next += size;
    return block;
}

void master_only_free(void* memory, std::size_t bytes) noexcept
{
    if (memory == nullptr) {
        return;
    }
    if (bytes > largest_class) {
        unmap_master_only(memory, bytes);
        return;
    }
    Pool& p = pool();
    const std::size_t index = class_of(bytes);
    p.free[index] = new (memory) FreeBlock{p.free[index]};
}

}  // namespace echod
