// The limits echod runs under, against what its settings need: the cgroup's pids.max
// (systemd's TasksMax=), RLIMIT_NPROC (LimitNPROC=) and RLIMIT_NOFILE (LimitNOFILE=). Past
// the first two a fork fails, and the master drops that client and backs off; past the
// third, accept fails and accepting pauses. Both go on working, so without a word at start
// an operator who raised max_children would meet them only as fork failures under load.
#pragma once

#include "daemon/config.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace echod {

// A pids.max file that applies to this process, and the cgroup it belongs to.
struct PidsMaxFile {
    std::string cgroup;  // as /proc/self/cgroup names it: "/system.slice/echod.service"
    std::string path;    // "/sys/fs/cgroup/system.slice/echod.service/pids.max"
};

// The pids.max files of the process whose /proc/PID/cgroup and /proc/PID/mountinfo are
// given: its own cgroup's and each parent's up to the top of the hierarchy (a parent's
// limit counts the whole subtree, so it applies too), nearest first. The hierarchy is the
// v1 one of the pids controller when there is one (a v1 or hybrid host), else the v2 one
// ("0::/path"), found where it is mounted. None when neither is mounted where this process
// can see it.
std::vector<PidsMaxFile> pids_max_files(const std::string& cgroup_text,
                                        const std::string& mountinfo_text);

struct PidsLimit {
    std::uint64_t max = 0;
    std::string cgroup;  // the cgroup whose pids.max it is
};

// The lowest pids.max over `files` ("max" is no limit); none when no file has a number
// (none can be read, or all say "max").
std::optional<PidsLimit> lowest_pids_limit(const std::vector<PidsMaxFile>& files);

// What the settings need of each limit.
struct ResourceNeeds {
    std::uint64_t processes = 0;    // max_children, the master, the UDP child
    std::uint64_t descriptors = 0;  // the master's (a child holds fewer)
};
// `sockets`: the listening and UDP sockets the master holds; `udp_child`: one is forked.
ResourceNeeds resource_needs(const Config& config, std::size_t sockets, bool udp_child);

// Logs a warning for each limit below what `config` needs; says nothing of a limit it
// cannot read. At start and at each reload.
void note_resource_limits(const Config& config, std::size_t sockets, bool udp_child);

}  // namespace echod
