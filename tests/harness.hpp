// Test support: start the real echod (posix_spawn, never fork in the test process), watch
// its log with deadlines, and talk to it over loopback sockets.
#pragma once

#include "os/unique_fd.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace echod::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A private directory, removed with everything in it.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }
    std::string write(const std::string& name, const std::string& content) const;

private:
    std::string path_;
};

struct CommandResult {
    int status = -1;  // exit status, or 128 + signal
    std::string out;
    std::string err;
};

// Runs a program to completion (killed at the deadline) with `input` on its stdin.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = "",
                          std::chrono::milliseconds timeout = 20s,
                          const std::map<std::string, std::string>& env = {});

// Another program to run as a Daemon, found in PATH (haproxy), with its whole argv.
struct Program {
    std::vector<std::string> argv;
};

// A running echod (or another Program) whose stderr (the log) is collected line by line.
class Daemon {
public:
    // `argv` without the program; `wrapper` (e.g. prlimit ...) goes in front of it.
    explicit Daemon(const std::vector<std::string>& args,
                    const std::vector<std::string>& wrapper = {},
                    const std::map<std::string, std::string>& env = {});
    explicit Daemon(const Program& program, const std::map<std::string, std::string>& env = {});
    // With `passed` at descriptors 3, 4, ..., as systemd passes sockets (LISTEN_FDS; the
    // wrapper sets LISTEN_PID).
    Daemon(const std::vector<std::string>& args, const std::vector<int>& passed,
           const std::vector<std::string>& wrapper, const std::map<std::string, std::string>& env);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    pid_t pid() const { return pid_; }
    // Waits for the ready line and returns the port it names.
    std::uint16_t wait_ready(std::chrono::milliseconds timeout = 10s);
    // Waits for the next line (after `from`) matching `pattern`; fails the test on timeout.
    std::string wait_for(const std::string& pattern, std::chrono::milliseconds timeout = 10s,
                         std::size_t from = 0);
    // Waits until `n` lines match `pattern` in all; fails the test on timeout.
    void wait_count(const std::string& pattern, std::size_t n,
                    std::chrono::milliseconds timeout = 30s);
    // Connections closed for `reason` (eof, idle, ...) as the log tells them: a `connection
    // closed` line each, or counted in a `connections summary` line (echod writes those
    // instead of per-connection lines under a flood).
    std::size_t closed_count(const std::string& reason = "eof") const;
    void wait_closed_count(std::size_t n, const std::string& reason = "eof",
                           std::chrono::milliseconds timeout = 30s);
    std::size_t line_count() const;
    std::size_t count(const std::string& pattern) const;
    std::string log() const;
    void signal(int signal) const;
    // Waits for the process to end and its log to close; returns its exit status (or
    // 128 + signal), -1 on timeout.
    int wait_exit(std::chrono::milliseconds timeout = 10s);

private:
    // Waits until `per_line` summed over every line reaches `n`; fails the test saying
    // "only F of N <what>" on timeout.
    void wait_total(const std::function<std::size_t(const std::string&)>& per_line,
                    std::size_t n, std::chrono::milliseconds timeout, const std::string& what);
    void start(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
               const std::vector<int>& passed = {});
    void read_log(int fd);

    pid_t pid_ = -1;
    UniqueFd pidfd_;
    std::optional<int> status_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> lines_;
    bool log_closed_ = false;
    std::thread reader_;
};

// A Boost.Test precondition: tests that change user ids need root; others skip them.
struct RunningAsRoot {
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const;
};

// The value of the " port=N" field of a ready or reloaded log line.
std::uint16_t port_in(const std::string& line);

std::string echod_path();
std::string client_path();

// Loopback connections; source binds the local address (127.0.0.2 ...).
UniqueFd connect_tcp(const std::string& address, std::uint16_t port,
                     const std::string& source = "");
// A listening socket on 127.0.0.1 (port 0: any free one), and the port a socket is bound to.
UniqueFd listen_loopback(std::uint16_t port = 0);
std::uint16_t local_port(int fd);
// True if a connection to address:port is refused (nothing listens there).
bool connection_refused(const std::string& address, std::uint16_t port);
// A port that was free a moment ago (bound to port 0 and released).
std::uint16_t free_port();
void send_all(int fd, const std::string& data, std::chrono::milliseconds timeout = 10s);
// Reads exactly n bytes; fails the test on EOF or timeout.
std::string recv_exact(int fd, std::size_t n, std::chrono::milliseconds timeout = 10s);
// One short client on 127.0.0.1:port: sends `message`, shuts down its sending side, and
// requires exactly the message back, then the close.
void echo_once(std::uint16_t port, const std::string& message);
// What became of one connection that sent bytes and waited for their echo.
enum class EchoOutcome {
    served,   // exactly the expected bytes came back
    refused,  // the connection ended (EOF or reset) with nothing written
    other,    // a failed connect, other bytes, or nothing by the deadline
};
const char* echo_outcome_name(EchoOutcome outcome);
// One connection from `source` (127.0.0.x) to 127.0.0.1:port that sends `prefix` +
// `message` in one write (one segment) and waits up to `timeout` for `message` to come
// back, then closes. No Boost.Test assertions: it may run in threads.
EchoOutcome attempt_echo(const std::string& source, std::uint16_t port,
                         const std::string& prefix, const std::string& message,
                         std::chrono::milliseconds timeout = 5s);
// Sends `message` and checks that exactly it comes back.
void expect_echo(int fd, const std::string& message, std::chrono::milliseconds timeout = 10s);
// Sends "abc", then "X" as TCP urgent data (MSG_OOB), then "def", shuts down its sending side
// and returns all that came back before the close (or the deadline). An echo server returns
// "abcXdef"; one that lets the kernel take the urgent byte out of the stream, "abcdef".
std::string echo_with_urgent_byte(const std::string& address, std::uint16_t port,
                                  std::chrono::milliseconds timeout = 10s);
// Waits until the peer closes: true on EOF (or reset), false if data or the deadline came first.
bool wait_closed(int fd, std::chrono::milliseconds timeout = 10s);
// True if nothing arrives within `quiet` (used only to show that a client is waiting).
bool nothing_arrives(int fd, std::chrono::milliseconds quiet);
// Sends `data` and reads it back concurrently (so large payloads cannot deadlock); returns
// what came back.
std::string echo_full_duplex(int fd, const std::string& data, std::chrono::milliseconds timeout = 30s);

// A PROXY protocol v2 header as a balancer sends it: command PROXY over TCP, from
// client:client_port to server:server_port (numeric, both IPv4 or both IPv6), or, for
// local(), the LOCAL command of a balancer's health check.
std::string proxy_v2_header(const std::string& client, std::uint16_t client_port,
                            const std::string& server, std::uint16_t server_port);
std::string proxy_v2_local();

// One datagram from an AF_UNIX socket (the caller has polled for it), with what came
// alongside: the sender's pid when the socket has SO_PASSCRED, and descriptors sent as
// SCM_RIGHTS (close-on-exec here).
struct UnixDatagram {
    std::string bytes;
    pid_t sender = -1;
    std::vector<UniqueFd> fds;
};
UnixDatagram receive_datagram(int fd);
// What systemd listens on for notifications: an AF_UNIX datagram socket bound at `path`
// that passes the sender's credentials (SO_PASSCRED).
UniqueFd bind_notify_socket(const std::string& path);

// /proc facts about a process.
std::size_t open_fd_count(pid_t pid);
// Where the process sleeps in the kernel (/proc/PID/wchan), e.g. "do_epoll_wait"; "" if gone.
std::string process_wait_channel(pid_t pid);
std::size_t zombie_children(pid_t pid);
std::size_t live_children(pid_t pid);
std::vector<pid_t> child_pids(pid_t pid);
// Waits (up to `timeout`) until at most `left` of `children` are still children of `pid`;
// true once they are. Prefork: the spares forked before a reload are retired by a signal,
// and one woken for a connection in the same pass serves it first, with the settings it
// was forked with; a test of the new settings waits for them to go.
bool wait_children_gone(pid_t pid, const std::vector<pid_t>& children, std::size_t left,
                        std::chrono::milliseconds timeout = 5s);
double cpu_seconds(pid_t pid);
// The listen backlog `ss -ltn` shows for the port (its Send-Q column), or -1.
int ss_backlog(std::uint16_t port);

}  // namespace echod::test

namespace echod::test {

// An echod started on a config file of its own. `settings` are config lines; unless they
// say otherwise it listens on 127.0.0.1, port 0 (any free port).
class Echod {
public:
    explicit Echod(const std::string& settings, const std::vector<std::string>& args = {},
                   const std::vector<std::string>& wrapper = {},
                   const std::map<std::string, std::string>& env = {});

    // Replaces the config file; reload() also sends SIGHUP.
    void rewrite(const std::string& settings) const;
    void reload(const std::string& settings) const;

    TempDir dir;
    std::string config;
    Daemon daemon;
    std::uint16_t port;
};

std::string with_loopback_defaults(const std::string& settings);

}  // namespace echod::test
