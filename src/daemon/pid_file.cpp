#include "daemon/pid_file.hpp"

#include "os/sys_error.hpp"
#include "os/unique_fd.hpp"

#include <fcntl.h>
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

}  // namespace echod
