// The master's pid file, and the lock that says one echod owns it.
#pragma once

#include "os/unique_fd.hpp"

#include <stdexcept>
#include <string>

namespace echod {

// A start refused for a reason no failed call names: the pid file belongs to a running
// echod, or is not a file. main exits 71 with the message as it is.
class PidFileRefused : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// On construction: opens the file (never through a symbolic link, never blocking on a
// FIFO, only a regular file), takes an exclusive flock held for the master's life, then
// writes the master's pid. If another process holds the lock, throws PidFileRefused naming
// the path and the pid in the file, and leaves the file alone. On destruction the file is
// removed (children _exit and never run it; they close the descriptor, so the lock is the
// master's alone). An empty path does nothing.
class PidFile {
public:
    explicit PidFile(std::string path);
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;
    ~PidFile();

private:
    std::string path_;
    UniqueFd fd_;  // open and locked while this object lives
};

}  // namespace echod
