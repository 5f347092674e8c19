#include "bench_report.hpp"

#include <cstdio>
#include <cstring>
#include <iostream>

namespace bench {

namespace {

const char* const kind_names[] = {"connect", "reset", "eof", "mismatch", "timeout"};

}  // namespace

ErrorKind error_of(Step failure)
{
    switch (failure) {
    case Step::eof:
        return ErrorKind::eof;
    case Step::mismatch:
        return ErrorKind::mismatch;
    default:
        return ErrorKind::reset;
    }
}

void ErrorCounts::add(ErrorKind kind, const char* call, int error)
{
    const auto i = static_cast<std::size_t>(kind);
    if (counts_[i]++ == 0) {
        std::cerr << "echod-bench: first err_" << kind_names[i] << ": " << call;
        if (error != 0) {
            std::cerr << ": " << std::strerror(error);
        }
        std::cerr << "\n";
    }
}

std::uint64_t ErrorCounts::total() const
{
    std::uint64_t sum = 0;
    for (const std::uint64_t count : counts_) {
        sum += count;
    }
    return sum;
}

std::string ErrorCounts::fields() const
{
    std::string text = "errors=" + std::to_string(total());
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        text += std::string(" err_") + kind_names[i] + "=" + std::to_string(counts_[i]);
    }
    return text;
}

std::string fixed(double value, int decimals)
{
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

std::int64_t percentile(const std::vector<std::int64_t>& sorted, unsigned per_mille)
{
    if (sorted.empty()) {
        return 0;
    }
    const std::size_t rank = (sorted.size() * per_mille + 999) / 1000;
    return sorted[rank == 0 ? 0 : rank - 1];
}

int exit_status(const ErrorCounts& errors)
{
    return errors.total() == 0 ? 0 : 1;
}

}  // namespace bench
