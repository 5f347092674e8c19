// echod-client HOST PORT [MESSAGE...]: send the message (or standard input) to an echo
// server, print what comes back, fail unless it is the same.
#include "client/client.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

enum ExitCode : int { exit_ok = 0, exit_mismatch = 1, exit_usage = 64, exit_unavailable = 69 };

const char* usage =
    "Usage: echod-client [-t SECONDS] HOST PORT [MESSAGE...]\n"
    "Sends MESSAGE (its words joined by spaces, plus a newline) or else standard input to\n"
    "the echo server at HOST PORT, prints the reply, and exits 0 only if the reply is\n"
    "identical. -t: give up when nothing moves for SECONDS (default 5).\n"
    "Exit: 0 echoed; 1 the reply differed, was short or long, timed out, or could not be\n"
    "written out; 64 usage; 69 cannot resolve or connect.\n";

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

}  // namespace

int main(int argc, char* argv[])
{
    ::signal(SIGPIPE, SIG_IGN);  // a closed output or socket is an error to report, not a death
    std::vector<std::string> args(argv + 1, argv + argc);
    long timeout_s = 5;
    if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
        std::cout << usage;
        return exit_ok;
    }
    if (args.size() >= 2 && (args[0] == "-t" || args[0] == "--timeout")) {
        char* end = nullptr;
        timeout_s = std::strtol(args[1].c_str(), &end, 10);
        if (*end != '\0' || timeout_s <= 0 || timeout_s > 86400) {
            std::cerr << "echod-client: -t wants whole seconds from 1 to 86400, not '" << args[1]
                      << "'\n";
            return exit_usage;
        }
        args.erase(args.begin(), args.begin() + 2);
    }
    if (args.size() < 2) {
        std::cerr << usage;
        return exit_usage;
    }
    const std::chrono::milliseconds timeout = std::chrono::seconds(timeout_s);
    try {
        echod::UniqueFd sock = echod::connect_to(args[0], args[1], timeout);
        const std::vector<std::string> words(args.begin() + 2, args.end());
        echod::UniqueFd message(words.empty() ? -1 : message_fd(words));
        const auto result = echod::exchange(sock.get(), message ? message.get() : STDIN_FILENO,
                                            STDOUT_FILENO, timeout);
        if (!result.ok) {
            std::cerr << "echod-client: " << result.problem << "\n";
            return exit_mismatch;
        }
        return exit_ok;
    } catch (const std::exception& e) {
        std::cerr << "echod-client: " << e.what() << "\n";
        return exit_unavailable;
    }
}
