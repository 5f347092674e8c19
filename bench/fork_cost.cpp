// What fork + _exit + waitpid costs a process, with and without the libraries echod used to
// link (built twice: fork_cost_plain, and fork_cost_echod_libs with Boost.Log and libsystemd
// loaded and used once; echod now loads libsystemd only under systemd). The difference is what those libraries add to every connection
// of a fork server: each mapping is copied by fork and torn down by the child's exit.
//
//   fork_cost [ROUNDS]   (default 5000)
//
// Prints: FORK_COST libs=plain|echod mappings=N pte="N kB" us_per_fork=N.N
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#ifdef WITH_ECHOD_LIBS
#include <boost/log/trivial.hpp>
#include <systemd/sd-daemon.h>
#endif

namespace {

std::string status_field(const char* name)
{
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind(name, 0) == 0) {
            return line.substr(line.find_first_not_of(" \t", std::strlen(name) + 1));
        }
    }
    return "?";
}

int mapping_count()
{
    std::ifstream maps("/proc/self/maps");
    int n = 0;
    for (std::string line; std::getline(maps, line);) {
        ++n;
    }
    return n;
}

}  // namespace

int main(int argc, char** argv)
{
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 5000;
#ifdef WITH_ECHOD_LIBS
    BOOST_LOG_TRIVIAL(trace) << "loaded";  // one console line: Boost.Log is initialised
    sd_notify(0, "STATUS=fork_cost");      // no NOTIFY_SOCKET: does nothing, but is linked
    const char* libs = "echod";
#else
    const char* libs = "plain";
#endif
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < rounds; ++i) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::_exit(0);
        }
        int status = 0;
        if (pid < 0 || ::waitpid(pid, &status, 0) != pid) {
            std::perror("fork_cost");
            return 1;
        }
    }
    const double us = std::chrono::duration<double, std::micro>(
                          std::chrono::steady_clock::now() - start).count() / rounds;
    std::printf("FORK_COST libs=%s mappings=%d pte=\"%s\" us_per_fork=%.1f\n", libs, mapping_count(),
                status_field("VmPTE").c_str(), us);
    return 0;
}
