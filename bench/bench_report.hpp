// What a run counts, and how it prints: the RESULT line is an interface (a comparison
// script parses it), so its fields and their order are fixed here.
#pragma once

#include "bench_exchange.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace bench {

enum class ErrorKind { connect, reset, eof, mismatch, timeout };

ErrorKind error_of(Step failure);

class ErrorCounts {
public:
    // The first error of each kind is described on stderr, so a failing run says why.
    void add(ErrorKind kind, const char* call, int error);
    std::uint64_t total() const;
    // "errors=N err_connect=N err_reset=N err_eof=N err_mismatch=N err_timeout=N"
    std::string fields() const;

private:
    std::array<std::uint64_t, 5> counts_{};
};

// value with exactly `decimals` digits after the point.
std::string fixed(double value, int decimals);

// Nearest-rank percentile of sorted samples, in whole per mille (990 = p99) so that no
// floating-point rounding moves the rank; 0 when there are none.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, unsigned per_mille);

// Exit status for a finished run: 0 without errors, 1 with.
int exit_status(const ErrorCounts& errors);

}  // namespace bench
