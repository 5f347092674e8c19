#include "process.hpp"

#include "log.hpp"
#include "sys_error.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace echod {

PidFile::PidFile(std::string path) : path_(std::move(path))
{
    if (path_.empty()) {
        return;
    }
    const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW;
    UniqueFd fd(check_sys(::open(path_.c_str(), flags, 0644), "open pid_file " + path_));
    const std::string text = std::to_string(::getpid()) + "\n";
    if (!write_full(fd.get(), text.data(), text.size())) {
        throw_sys_error("write pid_file " + path_);
    }
}

PidFile::~PidFile()
{
    if (!path_.empty()) {
        ::unlink(path_.c_str());  // may fail after dropping root; nothing more to do then
    }
}

void drop_privileges(const Config& config)
{
    if (config.user.empty()) {
        return;
    }
    if (::geteuid() != 0) {
        log_warning("user=" + config.user + " ignored: echod was not started as root");
        return;
    }
    const passwd* user = ::getpwnam(config.user.c_str());
    if (user == nullptr) {
        throw_sys_error("getpwnam " + config.user, ENOENT);
    }
    const uid_t uid = user->pw_uid;
    gid_t gid = user->pw_gid;
    if (!config.group.empty()) {
        const group* found = ::getgrnam(config.group.c_str());
        if (found == nullptr) {
            throw_sys_error("getgrnam " + config.group, ENOENT);
        }
        gid = found->gr_gid;
    }
    check_sys(::initgroups(config.user.c_str(), gid), "initgroups " + config.user);
    check_sys(::setgid(gid), "setgid " + std::to_string(gid));
    check_sys(::setuid(uid), "setuid " + std::to_string(uid));
    if (::setuid(0) == 0) {
        throw_sys_error("setuid: root could be regained after dropping to " + config.user, EPERM);
    }
    log_info("dropped privileges user=" + config.user + " uid=" + std::to_string(uid) +
             " gid=" + std::to_string(gid));
}

}  // namespace echod
