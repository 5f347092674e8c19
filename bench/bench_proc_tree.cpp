#include "bench_proc_tree.hpp"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace bench {

namespace {

using ChildMap = std::unordered_map<pid_t, std::vector<pid_t>>;

// The ppid field follows the command name, which may itself hold spaces and parentheses:
// parse from the last ')'.
std::optional<pid_t> parent_of(const std::string& pid)
{
    std::ifstream stat("/proc/" + pid + "/stat");
    std::string line;
    if (!std::getline(stat, line)) {
        return std::nullopt;
    }
    const auto close = line.rfind(')');
    if (close == std::string::npos || close + 4 >= line.size()) {
        return std::nullopt;
    }
    return static_cast<pid_t>(std::strtol(line.c_str() + close + 4, nullptr, 10));
}

ChildMap children_by_parent()
{
    ChildMap children;
    const std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), ::closedir);
    if (!proc) {
        return children;
    }
    while (const dirent* entry = ::readdir(proc.get())) {
        const std::string name = entry->d_name;
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        if (const auto parent = parent_of(name)) {
            children[*parent].push_back(static_cast<pid_t>(std::stol(name)));
        }
    }
    return children;
}

std::vector<pid_t> tree_of(pid_t root, const ChildMap& children)
{
    std::vector<pid_t> tree{root};
    for (std::size_t i = 0; i < tree.size(); ++i) {
        const auto found = children.find(tree[i]);
        if (found != children.end()) {
            tree.insert(tree.end(), found->second.begin(), found->second.end());
        }
    }
    return tree;
}

// The value of a "Key:   123 kB" line, or nothing if the file (the process) is gone.
std::optional<std::uint64_t> field_kb(const std::string& path, const std::string& key)
{
    std::ifstream file(path);
    if (!file) {
        return std::nullopt;
    }
    std::string line;
    while (std::getline(file, line)) {
        if (line.compare(0, key.size(), key) == 0) {
            return std::strtoull(line.c_str() + key.size(), nullptr, 10);
        }
    }
    return std::nullopt;
}

}  // namespace

TreeMemory measure_tree(pid_t root)
{
    TreeMemory total;
    for (const pid_t pid : tree_of(root, children_by_parent())) {
        const std::string dir = "/proc/" + std::to_string(pid);
        const auto pss = field_kb(dir + "/smaps_rollup", "Pss:");
        const auto pte = field_kb(dir + "/status", "VmPTE:");
        if (pss && pte) {
            ++total.procs;
            total.pss_kb += *pss;
            total.pagetables_kb += *pte;
        }
    }
    return total;
}

}  // namespace bench
