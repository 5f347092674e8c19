// Process-wide start-up steps of the master: the pid file and dropping root.
#pragma once

#include "config.hpp"

#include <string>

namespace echod {

// Writes the master's pid on construction and removes the file on destruction (children
// _exit and never run it). An empty path does nothing.
class PidFile {
public:
    explicit PidFile(std::string path);
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;
    ~PidFile();

private:
    std::string path_;
};

// When started as root with `user` set: switch to that user and group (the user's primary
// group unless `group` is set) for good. Started as another user: `user` is ignored, logged.
void drop_privileges(const Config& config);

}  // namespace echod
