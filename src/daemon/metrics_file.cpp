#include "daemon/metrics_file.hpp"

#include "daemon/log_events.hpp"
#include "os/sys_error.hpp"
#include "os/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace echod {
namespace {

// "/dir/.NAME.tmp" for "/dir/NAME": hidden, and not ending in .prom, so the textfile
// collector (which reads only *.prom) never reads a file still being written.
std::string temp_path_of(const std::string& path)
{
    if (path.empty()) {
        return "";
    }
    const std::size_t slash = path.rfind('/');
    return path.substr(0, slash + 1) + "." + path.substr(slash + 1) + ".tmp";
}

}  // namespace

MetricsFile::MetricsFile(std::string path)
    : path_(std::move(path)), temp_path_(temp_path_of(path_))
{
}

std::optional<Clock::time_point> MetricsFile::next_due() const
{
    return path_.empty() ? std::nullopt : std::optional(next_);
}

void MetricsFile::write(const MetricsText& text, Clock::time_point now)
{
    next_ = now + interval;
    if (path_.empty()) {
        return;
    }
    const std::optional<Failure> failure = replace(text);
    if (failure) {
        if (failures_++ == 0) {
            failing_since_ = now;
            log_metrics_write_failed(path_, failure->call, failure->error, interval);
        }
        return;
    }
    if (failures_ != 0) {
        log_metrics_written_again(path_, failures_,
                                  std::chrono::duration_cast<std::chrono::milliseconds>(
                                      now - failing_since_)
                                      .count());
        failures_ = 0;
    }
}

void MetricsFile::retarget(std::string path)
{
    path_ = std::move(path);
    temp_path_ = temp_path_of(path_);
    failures_ = 0;  // a failure at the old path says nothing about the new one
}

// Writes a new file beside the old one and renames it over it: a reader sees the old
// file or the new one, whole, never a part. The master may run as root (without `user`),
// in a directory others may write to: whatever is at the temporary name is removed, not
// followed (a symbolic link there could point anywhere), and the file is created afresh
// (O_EXCL), never opened. No fsync: the file is rewritten in a few seconds, and a sync
// could stall the master for as long as the disk is busy.
std::optional<MetricsFile::Failure> MetricsFile::replace(const MetricsText& text) const
{
    if (::unlink(temp_path_.c_str()) != 0 && errno != ENOENT) {
        return Failure{"unlink", errno};
    }
    UniqueFd fd(::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       0644));
    if (!fd) {
        return Failure{"open", errno};
    }
    // Whatever the umask (the unit's is 0077): node_exporter runs as another user.
    std::optional<Failure> failure;
    if (::fchmod(fd.get(), 0644) != 0) {
        failure = Failure{"fchmod", errno};
    } else if (!write_full(fd.get(), text.data(), text.size())) {
        failure = Failure{"write", errno};
    } else if (::close(fd.release()) != 0) {  // NFS and quotas may report a failed write here
        failure = Failure{"close", errno};
    } else if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
        failure = Failure{"rename", errno};
    }
    if (failure) {
        ::unlink(temp_path_.c_str());
    }
    return failure;
}

}  // namespace echod
