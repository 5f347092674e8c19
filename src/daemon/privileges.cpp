#include "daemon/privileges.hpp"

#include "daemon/log_events.hpp"
#include "os/sys_error.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace echod {

void drop_privileges(const Config& config)
{
    if (config.user.empty()) {
        return;
    }
    if (::geteuid() != 0) {
        log_user_ignored_not_root(config.user);
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
    log_privileges_dropped(config.user, uid, gid);
}

}  // namespace echod
