// The master's pid file.
#pragma once

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

}  // namespace echod
