// Memory only the master uses, kept out of its children: mapped with MADV_DONTFORK.
//
// fork() write-protects every private page of the master, so each page the master writes
// afterwards costs it a page fault (and a copy while the child lives), and every page is
// one more page-table entry to copy and, in the child, to tear down. The master's hot state
// (the child table, the poll set, its counters) is written on every connection; kept here,
// it is neither copied into a child nor write-protected in the master. A child never sees
// this memory: reading it there is a SIGSEGV, so what a child needs is copied to the
// stack before fork (src/common/child_path.hpp).
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace echod {

// Pages mapped private and anonymous, then MADV_DONTFORK. Throws std::bad_alloc.
void* map_master_only(std::size_t bytes);
void unmap_master_only(void* memory, std::size_t bytes) noexcept;

// A small allocator over master-only pages: power-of-two size classes from 16 bytes to
// 4 KiB carved from 64 KiB chunks (freed blocks are reused, chunks are kept), larger blocks
// in mappings of their own. Single-threaded, as the master is.
void* master_only_allocate(std::size_t bytes);
void master_only_free(void* memory, std::size_t bytes) noexcept;

template <typename T>
struct MasterOnlyAllocator {
    using value_type = T;

    MasterOnlyAllocator() = default;
    template <typename U>
    MasterOnlyAllocator(const MasterOnlyAllocator<U>&) noexcept
    {
    }

    static_assert(alignof(T) <= 16, "master-only blocks are 16-byte aligned");
    T* allocate(std::size_t n) { return static_cast<T*>(master_only_allocate(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { master_only_free(p, n * sizeof(T)); }

    template <typename U>
    bool operator==(const MasterOnlyAllocator<U>&) const noexcept
    {
        return true;
    }
    template <typename U>
    bool operator!=(const MasterOnlyAllocator<U>&) const noexcept
    {
        return false;
    }
};

// One object in master-only pages of its own.
template <typename T>
struct MasterOnlyDelete {
    void operator()(T* object) const noexcept
    {
        object->~T();
        unmap_master_only(object, sizeof(T));
    }
};

template <typename T>
using MasterOnlyPtr = std::unique_ptr<T, MasterOnlyDelete<T>>;

template <typename T, typename... Args>
MasterOnlyPtr<T> make_master_only(Args&&... args)
{
    static_assert(alignof(T) <= 4096, "master-only objects are page-aligned at most");
    void* memory = map_master_only(sizeof(T));
    try {
        return MasterOnlyPtr<T>(new (memory) T(std::forward<Args>(args)...));
    } catch (...) {
        unmap_master_only(memory, sizeof(T));
        throw;
    }
}

}  // namespace echod
