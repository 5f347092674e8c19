// Memory of a server's process tree (a fork-per-connection server is many processes).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace bench {

struct TreeMemory {
    std::size_t procs = 0;
    std::uint64_t pss_kb = 0;         // proportional set size: shared pages split fairly
    std::uint64_t pagetables_kb = 0;  // VmPTE: per-process, and large for many forks
};

// Sums root and all its descendants (found through the ppid field of /proc/*/stat). A
// process that exits while being read is skipped.
TreeMemory measure_tree(pid_t root);

}  // namespace bench
