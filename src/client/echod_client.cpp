// echod-client HOST PORT [MESSAGE...]: send the message (or standard input) to an echo
// server, print what comes back, fail unless it is the same.
#include "client/client.hpp"
#include "os/standard_descriptors.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

enum ExitCode : int {
    exit_ok = 0,
    exit_failed = 1,  // the echo was wrong or late, or a local read or write failed
    exit_usage = 64,
    exit_unavailable = 69,  // cannot resolve or connect
    exit_oserr = 71,        // a closed standard descriptor could not be put on /dev/null
};

const char* usage =
    "Usage: echod-client [-t SECONDS] HOST PORT [MESSAGE...]\n"
    "Sends MESSAGE (its words joined by spaces, plus a newline) or else standard input to\n"
    "the echo server at HOST PORT, prints the reply, and exits 0 only if the reply is\n"
    "identical. HOST is a name or an address ([::1] or ::1); PORT is 1 to 65535.\n"
    "-t: give up when the server has owed a reply, or the close, for SECONDS (default 5);\n"
    "time spent waiting for standard input does not count.\n"
    "Exit: 0 echoed; 1 the reply differed, was short or long, timed out, or the input could\n"
    "not be read or the reply written out; 64 usage; 69 cannot resolve or connect.\n";

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

// 1 to 65535 in decimal digits: getaddrinfo would take 65543 as 7 (it wraps) and a name
// from /etc/services.
bool valid_port(const std::string& port)
{
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
        return false;
    }
    const unsigned long value = std::stoul(port);
    return value >= 1 && value <= 65535;
}

struct Arguments {
    long timeout_s = 5;
    std::string host;
    std::string port;
    std::vector<std::string> words;
};

// Fills `arguments`, or prints why not and returns false.
bool parse_arguments(std::vector<std::string> args, Arguments& arguments)
{
    if (args.size() >= 2 && (args[0] == "-t" || args[0] == "--timeout")) {
        char* end = nullptr;
        arguments.timeout_s = std::strtol(args[1].c_str(), &end, 10);
        if (*end != '\0' || arguments.timeout_s <= 0 || arguments.timeout_s > 86400) {
            std::cerr << "echod-client: -t wants whole seconds from 1 to 86400, not '" << args[1]
                      << "'\n";
            return false;
        }
        args.erase(args.begin(), args.begin() + 2);
    }
    if (!args.empty() && args[0] == "--") {
        args.erase(args.begin());
    } else if (!args.empty() && args[0].size() > 1 && args[0][0] == '-') {
        std::cerr << "echod-client: unknown option '" << args[0] << "'\n" << usage;
        return false;
    }
    if (args.size() < 2) {
        std::cerr << usage;
        return false;
    }
    arguments.host = args[0];
    if (arguments.host.size() > 2 && arguments.host.front() == '[' && arguments.host.back() == ']') {
        arguments.host = arguments.host.substr(1, arguments.host.size() - 2);  // [::1]
    }
    arguments.port = args[1];
    if (!valid_port(arguments.port)) {
        std::cerr << "echod-client: PORT must be a number from 1 to 65535, not '" << args[1]
                  << "'\n";
        return false;
    }
    arguments.words.assign(args.begin() + 2, args.end());
    return true;
}

}  // namespace

int main(int argc, char* argv[])
{
    if (!echod::ensure_standard_descriptors()) {
        return exit_oserr;
    }
    ::signal(SIGPIPE, SIG_IGN);  // a closed output or socket is an error to report, not a death
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
        std::cout << usage;
        return exit_ok;
    }
    Arguments arguments;
    if (!parse_arguments(args, arguments)) {
        return exit_usage;
    }
    const std::chrono::milliseconds timeout = std::chrono::seconds(arguments.timeout_s);
    echod::UniqueFd sock;
    try {
        sock = echod::connect_to(arguments.host, arguments.port, timeout);
    } catch (const std::exception& e) {
        std::cerr << "echod-client: " << e.what() << "\n";
        return exit_unavailable;
    }
    try {
        echod::UniqueFd message(arguments.words.empty() ? -1 : message_fd(arguments.words));
        const auto result = echod::exchange(sock.get(), message ? message.get() : STDIN_FILENO,
                                            STDOUT_FILENO, timeout);
        if (!result.ok) {
            std::cerr << "echod-client: " << result.problem << "\n";
            return exit_failed;
        }
        return exit_ok;
    } catch (const std::exception& e) {
        std::cerr << "echod-client: " << e.what() << "\n";
        return exit_failed;
    }
}
