// echod-client HOST PORT [MESSAGE...]: send the message (or standard input) to an echo
// server, print what comes back, fail unless it is the same. With -n COUNT: time COUNT
// round trips and summarize them like ping.
#include "client/client.hpp"
#include "client/client_options.hpp"
#include "client/measure.hpp"
#include "os/standard_descriptors.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#ifndef ECHOD_VERSION
#define ECHOD_VERSION "unknown"
#endif

namespace {

enum ExitCode : int {
    exit_ok = 0,
    exit_failed = 1,  // an echo was wrong or late, or a local read or write failed
    exit_usage = 64,
    exit_unavailable = 69,  // cannot resolve, or connect (the first connection with -n)
    exit_oserr = 71,        // a closed standard descriptor could not be put on /dev/null
};

// The message as a readable descriptor, so one code path serves it and standard input.
int message_fd(const std::vector<std::string>& words)
{
    std::string text;
    for (const std::string& word : words) {
        text += (text.empty() ? "" : " ") + word;
    }
    text += "\n";
    const int fd = ::memfd_create("echod-client-message", MFD_CLOEXEC);
    if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::lseek(fd, 0, SEEK_SET) != 0) {
        throw std::runtime_error(std::string("memfd: ") + std::strerror(errno));
    }
    return fd;
}

int run_echo(const echod::ClientOptions& options, const echod::Addresses& addresses)
{
    const std::chrono::milliseconds timeout = std::chrono::seconds(options.timeout_s);
    const echod::UniqueFd sock = echod::connect_to(addresses, options.host, options.port, timeout);
    echod::UniqueFd message(options.words.empty() ? -1 : message_fd(options.words));
    const auto result = echod::exchange(sock.get(), message ? message.get() : STDIN_FILENO,
                                        STDOUT_FILENO, timeout);
    if (!result.ok) {
        std::cerr << "echod-client: " << result.problem << "\n";
        return exit_failed;
    }
    return exit_ok;
}

int run_measure(const echod::ClientOptions& options, const echod::Addresses& addresses)
{
    const echod::MeasureTarget target{options.host, options.port, addresses,
                                      std::chrono::seconds(options.timeout_s)};
    const echod::MeasureCounts counts = echod::measure(target, options.measure, std::cout);
    if (!std::cout) {
        std::cerr << "echod-client: cannot write to standard output\n";
        return exit_failed;
    }
    return counts.failed == 0 && counts.ok > 0 ? exit_ok : exit_failed;  // ok > 0: not all interrupted
}

}  // namespace

int main(int argc, char* argv[])
{
    if (!echod::ensure_standard_descriptors()) {
        return exit_oserr;
    }
    ::signal(SIGPIPE, SIG_IGN);  // a closed output or socket is an error to report, not a death
    echod::ClientOptions options;
    try {
        options = echod::parse_client_options({argv + 1, argv + argc});
    } catch (const echod::UsageError& e) {
        std::cerr << "echod-client: " << e.what() << "\n"
                  << echod::client_usage << "Try 'echod-client --help' for more information.\n";
        return exit_usage;
    }
    if (options.action == echod::ClientOptions::Action::help) {
        std::cout << echod::client_usage << echod::client_help;
        return exit_ok;
    }
    if (options.action == echod::ClientOptions::Action::version) {
        std::cout << "echod-client " ECHOD_VERSION "\n";
        return exit_ok;
    }
    echod::Addresses addresses(nullptr, ::freeaddrinfo);
    try {
        addresses = echod::resolve(options.host, options.port, options.family);
    } catch (const std::exception& e) {
        std::cerr << "echod-client: " << e.what() << "\n";
        return exit_unavailable;
    }
    try {
        return options.action == echod::ClientOptions::Action::measure ? run_measure(options, addresses)
                                                                       : run_echo(options, addresses);
    } catch (const echod::ConnectError& e) {  // the one connection: without -N
        std::cerr << "echod-client: " << e.what() << "\n";
        return exit_unavailable;
    } catch (const std::exception& e) {
        std::cerr << "echod-client: " << e.what() << "\n";
        return exit_failed;
    }
}
