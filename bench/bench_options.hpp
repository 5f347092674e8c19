// The command line of echod-bench, parsed into a plain struct before anything runs.
#pragma once

#include "bench_net.hpp"

#include <sys/types.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace bench {

enum class Mode { rate, stream, hold };

struct Options {
    Mode mode = Mode::rate;
    Target target;
    std::string label = "server";
    int concurrency = 0;        // rate
    std::uint64_t size = 64;    // rate: bytes per connection
    double duration_s = 5;      // rate
    double warmup_s = 0;        // rate
    int sources = 16;           // rate, hold
    int connections = 0;        // stream, hold
    std::uint64_t bytes = 0;    // stream: bytes per connection
    pid_t server_pid = 0;       // hold; 0 = no memory measurement
    bool proxy_v2 = false;      // all: a PROXY v2 header first (bench_proxy_header.hpp)
};

// A malformed command line: main prints it and exits 64.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

extern const char* const usage_text;

bool wants_help(int argc, char* argv[]);

// Throws UsageError naming the offending option.
Options parse_options(int argc, char* argv[]);

}  // namespace bench
