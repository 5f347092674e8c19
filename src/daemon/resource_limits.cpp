#include "daemon/resource_limits.hpp"

#include "daemon/log_events.hpp"

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace echod {
namespace {

// The text of a small file under /proc or /sys; "" if it cannot be read.
std::string file_text(const std::string& path)
{
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return in ? text.str() : std::string();
}

std::vector<std::string> split(const std::string& text, char separator)
{
    std::vector<std::string> parts;
    std::istringstream in(text);
    for (std::string part; std::getline(in, part, separator);) {
        parts.push_back(part);
    }
    return parts;
}

bool has_item(const std::string& list, const std::string& item)
{
    for (const std::string& part : split(list, ',')) {
        if (part == item) {
            return true;
        }
    }
    return false;
}

// The cgroup of this process in the pids controller's hierarchy: "pids" in a v1 line
// ("8:pids:/path"), else the v2 line ("0::/path"). Empty: none.
std::pair<std::string, bool> pids_cgroup(const std::string& cgroup_text)
{
    std::string v2;
    for (const std::string& line : split(cgroup_text, '\n')) {
        const std::size_t first = line.find(':');
        const std::size_t second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) {
            continue;
        }
        const std::string controllers = line.substr(first + 1, second - first - 1);
        const std::string path = line.substr(second + 1);
        if (has_item(controllers, "pids")) {
            return {path, true};
        }
        if (line.compare(0, first, "0") == 0 && controllers.empty()) {
            v2 = path;
        }
    }
    return {v2, false};
}

struct CgroupMount {
    std::string root;         // the part of the hierarchy mounted there ("/" for all of it)
    std::string mount_point;  // "/sys/fs/cgroup", "/sys/fs/cgroup/pids"
};

// Where the hierarchy is mounted (mountinfo(5): ID PARENT DEV ROOT MOUNT_POINT OPTIONS...
// - TYPE SOURCE SUPER_OPTIONS): a "cgroup2" mount, or a "cgroup" one whose super options
// name the pids controller.
std::optional<CgroupMount> cgroup_mount(const std::string& mountinfo_text, bool v1)
{
    for (const std::string& line : split(mountinfo_text, '\n')) {
        std::istringstream fields(line);
        std::string id, parent, device, root, mount_point, word;
        fields >> id >> parent >> device >> root >> mount_point;
        while (fields >> word && word != "-") {
        }
        std::string type, source, options;
        fields >> type >> source >> options;
        if (v1 ? type == "cgroup" && has_item(options, "pids") : type == "cgroup2") {
            return CgroupMount{root, mount_point};
        }
    }
    return std::nullopt;
}

// Whether the process may exceed RLIMIT_NPROC: the kernel lets root (uid 0) and a process
// with CAP_SYS_RESOURCE or CAP_SYS_ADMIN fork past it.
bool exempt_from_nproc()
{
    if (::getuid() == 0) {
        return true;
    }
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    if (::syscall(SYS_capget, &header, data) != 0) {
        return false;
    }
    auto has = [&data](int capability) {
        return (data[capability / 32].effective & (1u << (capability % 32))) != 0;
    };
    return has(CAP_SYS_RESOURCE) || has(CAP_SYS_ADMIN);
}

// The soft limit, none when unlimited.
std::optional<std::uint64_t> soft_limit(int resource)
{
    rlimit limit{};
    if (::getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
        return std::nullopt;
    }
    return limit.rlim_cur;
}

}  // namespace

std::vector<PidsMaxFile> pids_max_files(const std::string& cgroup_text,
                                        const std::string& mountinfo_text)
{
    const auto [cgroup, v1] = pids_cgroup(cgroup_text);
    const std::optional<CgroupMount> mount = cgroup_mount(mountinfo_text, v1);
    if (cgroup.empty() || cgroup.front() != '/' || !mount) {
        return {};
    }
    // The mount shows the hierarchy from its root down: the cgroups above are not there.
    const std::string& root = mount->root;
    const bool whole = root == "/";
    if (!whole && cgroup != root && cgroup.compare(0, root.size() + 1, root + "/") != 0) {
        return {};
    }
    std::vector<PidsMaxFile> files;
    for (std::string at = cgroup;;) {
        const std::string below = whole ? at : at.substr(root.size());
        files.push_back({at, mount->mount_point + (below == "/" ? "" : below) + "/pids.max"});
        if (at == (whole ? "/" : root)) {
            break;
        }
        const std::size_t slash = at.rfind('/');
        at = slash == 0 ? "/" : at.substr(0, slash);
    }
    return files;
}

std::optional<PidsLimit> lowest_pids_limit(const std::vector<PidsMaxFile>& files)
{
    std::optional<PidsLimit> lowest;
    for (const PidsMaxFile& file : files) {
        const std::string text = file_text(file.path);
        std::size_t used = 0;
        try {
            const std::uint64_t max = std::stoull(text, &used);
            if (used == 0 || text[0] < '0' || text[0] > '9' || (lowest && lowest->max <= max)) {
                continue;
            }
            lowest = PidsLimit{max, file.cgroup};
        } catch (const std::logic_error&) {
            continue;  // "max", or nothing read: no limit here
        }
    }
    return lowest;
}

ResourceNeeds resource_needs(const Config& config, std::size_t sockets, bool udp_child)
{
    ResourceNeeds needs;
    // Spare children (prefork) count toward max_children, and a finished child is counted
    // until it is reaped, so max_children bounds the children in both modes.
    needs.processes = std::uint64_t{config.max_children} + 1 + (udp_child ? 1 : 0);
    // The master holds no descriptor per child (one report pipe serves them all), so
    // max_children does not count here: 0-2, two signalfds (its own and its children's),
    // the report pipe's two ends, the pid file, its sockets twice (a reload opens the new
    // ones before it closes the old), and two for a moment (a connection between accept and
    // fork; the config file, a notification or a reload's answer socket).
    needs.descriptors = 3 + 2 + 2 + (config.pid_file.empty() ? 0 : 1) + 2 * sockets + 2;
    return needs;
}

void note_resource_limits(const Config& config, std::size_t sockets, bool udp_child)
{
    const ResourceNeeds needs = resource_needs(config, sockets, udp_child);
    const std::vector<PidsMaxFile> files =
        pids_max_files(file_text("/proc/self/cgroup"), file_text("/proc/self/mountinfo"));
    if (const auto pids = lowest_pids_limit(files); pids && pids->max < needs.processes) {
        log_pids_limit_low(pids->max, pids->cgroup, needs.processes, config.max_children,
                           udp_child);
    }
    if (const auto nproc = soft_limit(RLIMIT_NPROC);
        nproc && *nproc < needs.processes && !exempt_from_nproc()) {
        log_nproc_limit_low(*nproc, ::getuid(), needs.processes, config.max_children, udp_child);
    }
    if (const auto nofile = soft_limit(RLIMIT_NOFILE); nofile && *nofile < needs.descriptors) {
        log_nofile_limit_low(*nofile, needs.descriptors, sockets);
    }
}

}  // namespace echod
