#include "daemon/pid_file.hpp"

#include "os/sys_error.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>

namespace echod {
namespace {

// Another start may remove and recreate the file between our open and our flock (an echod
// that exits unlinks it first): then the lock is on a file nobody will look at. Try again.
constexpr int open_attempts = 3;

const char* file_type(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFIFO: return "a FIFO";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    case S_IFDIR: return "a directory";
    default: return "not a regular file";
    }
}

bool same_file(const struct stat& a, const struct stat& b)
{
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// O_NONBLOCK: a FIFO put at the path must not hold the start up (it is refused below).
// O_RDWR: the pid of an echod that holds the lock is read from the file for the message.
UniqueFd open_regular(const std::string& path)
{
    const int flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    UniqueFd fd(::open(path.c_str(), flags, 0644));
    if (!fd) {
        const int error = errno;
        struct stat link {};
        if (error == ELOOP && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
            throw PidFileRefused("pid_file " + path + " is a symbolic link; echod does not follow"
                                 " one");
        }
        throw_sys_error("open pid_file " + path, error);
    }
    struct stat file {};
    check_sys(::fstat(fd.get(), &file), "fstat pid_file " + path);
    if (!S_ISREG(file.st_mode)) {
        throw PidFileRefused("pid_file " + path + " is " + file_type(file.st_mode) +
                             ", not a regular file");
    }
    // A file another user made (in a shared directory) could be locked or rewritten by
    // them; a second name for it could be another file echod would truncate.
    if (file.st_uid != ::geteuid()) {
        throw PidFileRefused("pid_file " + path + " belongs to uid " +
                             std::to_string(file.st_uid) + ", not to echod's uid " +
                             std::to_string(::geteuid()));
    }
    if (file.st_nlink != 1) {
        throw PidFileRefused("pid_file " + path + " has " + std::to_string(file.st_nlink) +
                             " names (hard links); echod writes only a file of its own");
    }
    return fd;
}

// The pid another echod wrote, or "" if the file holds none (yet).
std::string pid_in(int fd)
{
    char text[32] = {};
    const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
    std::string pid;
    for (ssize_t i = 0; i < n && std::isdigit(static_cast<unsigned char>(text[i])) != 0; ++i) {
        pid += text[i];
    }
    return pid;
}

// Whether `fd` is still the file at `path` (not one removed, or replaced, since it was opened).
bool still_at(int fd, const std::string& path)
{
    struct stat opened {};
    struct stat named {};
    return ::fstat(fd, &opened) == 0 && ::lstat(path.c_str(), &named) == 0 &&
           same_file(opened, named);
}

UniqueFd open_locked(const std::string& path)
{
    for (int attempt = 1;; ++attempt) {
        UniqueFd fd = open_regular(path);
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK) {
                throw_sys_error("flock pid_file " + path);
            }
            const std::string pid = pid_in(fd.get());
            throw PidFileRefused("another echod is running with pid_file " + path +
                                 (pid.empty() ? "" : " (pid " + pid + ")"));
        }
        if (still_at(fd.get(), path) || attempt == open_attempts) {
            return fd;
        }
    }
}

}  // namespace

PidFile::PidFile(std::string path) : path_(std::move(path))
{
    if (path_.empty()) {
        return;
    }
    UniqueFd fd = open_locked(path_);
    check_sys(::ftruncate(fd.get(), 0), "ftruncate pid_file " + path_);
    const std::string text = std::to_string(::getpid()) + "\n";
    if (!write_full(fd.get(), text.data(), text.size())) {
        throw_sys_error("write pid_file " + path_);
    }
    fd_ = std::move(fd);
}

PidFile::~PidFile()
{
    // Only while we hold the lock (a start refused above never gets here with fd_ open), and
    // only the file we locked: one put there since by someone else is theirs.
    if (fd_ && still_at(fd_.get(), path_)) {
        ::unlink(path_.c_str());  // may fail after dropping root; nothing more to do then
    }
}

}  // namespace echod
