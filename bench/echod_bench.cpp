// echod-bench: the benchmark client (see BENCHMARKS.md). One epoll loop, no threads; every
// wait has a deadline. Prints one RESULT line; exit 0 no errors, 1 errors, 64 usage.
#include "bench_modes.hpp"

#include <signal.h>

#include <iostream>

namespace {

enum ExitCode : int { exit_ok = 0, exit_errors = 1, exit_usage = 64 };

int run(const bench::Options& options)
{
    switch (options.mode) {
    case bench::Mode::rate:
        return bench::run_rate(options);
    case bench::Mode::stream:
        return bench::run_stream(options);
    case bench::Mode::hold:
        return bench::run_hold(options);
    }
    return exit_errors;
}

}  // namespace

int main(int argc, char* argv[])
{
    ::signal(SIGPIPE, SIG_IGN);  // a peer's reset is an error to count, not a death
    if (bench::wants_help(argc, argv)) {
        std::cout << bench::usage_text;
        return exit_ok;
    }
    bench::Options options;
    try {
        options = bench::parse_options(argc, argv);
    } catch (const bench::UsageError& e) {
        std::cerr << "echod-bench: " << e.what() << "\n" << bench::usage_text;
        return exit_usage;
    }
    try {
        bench::raise_fd_limit();
        return run(options);
    } catch (const std::exception& e) {
        std::cerr << "echod-bench: " << e.what() << "\n";
        return exit_errors;
    }
}
