// The three benchmark modes. Each prints its progress on stderr and one RESULT line on
// stdout, and returns the exit status (0 no errors, 1 errors counted).
#pragma once

#include "bench_options.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace bench {

int run_rate(const Options& options);
int run_stream(const Options& options);
int run_hold(const Options& options);

// A socket with no bytes moving for this long counts as err_timeout.
constexpr std::chrono::seconds stall_limit{10};

// Epoll keys carry the slot index and a generation, so an event can never be taken for
// one of a later socket that reuses the slot.
inline std::uint64_t slot_key(std::size_t index, std::uint32_t generation)
{
    return (std::uint64_t{generation} << 32) | index;
}

inline std::size_t key_index(std::uint64_t key)
{
    return static_cast<std::size_t>(key & 0xffffffffu);
}

inline std::uint32_t key_generation(std::uint64_t key)
{
    return static_cast<std::uint32_t>(key >> 32);
}

}  // namespace bench
