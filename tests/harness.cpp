#include "harness.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace echod::test {
namespace {

int decode_status(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int ms_left(Clock::time_point deadline)
{
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::vector<std::string> environment(const std::map<std::string, std::string>& overrides)
{
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry = *e;
        if (overrides.count(entry.substr(0, entry.find('='))) == 0) {
            env.push_back(entry);
        }
    }
    for (const auto& [key, value] : overrides) {
        env.push_back(key + "=" + value);
    }
    return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings)
{
    std::vector<char*> result;
    for (std::string& s : strings) {
        result.push_back(s.data());
    }
    result.push_back(nullptr);
    return result;
}

// Starts argv with stdin/stdout/stderr on the given descriptors (-1: /dev/null), `passed`
// at 3, 4, ... and every other descriptor closed.
pid_t spawn(std::vector<std::string> argv, int in, int out, int err,
            const std::map<std::string, std::string>& env, const std::vector<int>& passed = {})
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const int fds[3] = {in, out, err};
    for (int target = 0; target < 3; ++target) {
        if (fds[target] >= 0) {
            posix_spawn_file_actions_adddup2(&actions, fds[target], target);
        } else {
            posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_RDWR, 0);
        }
    }
    // Copies above the places first, so that placing one never replaces another.
    const int first_free = 3 + static_cast<int>(passed.size());
    std::vector<UniqueFd> copies;
    for (std::size_t i = 0; i < passed.size(); ++i) {
        copies.emplace_back(::fcntl(passed[i], F_DUPFD_CLOEXEC, first_free));
        BOOST_TEST_REQUIRE(copies.back().get() >= first_free);
        posix_spawn_file_actions_adddup2(&actions, copies.back().get(), 3 + static_cast<int>(i));
    }
    posix_spawn_file_actions_addclosefrom_np(&actions, first_free);
    std::vector<std::string> env_strings = environment(env);
    auto args = pointers(argv);
    auto envp = pointers(env_strings);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    BOOST_TEST_REQUIRE(rc == 0, "posix_spawn " << argv[0] << ": " << std::strerror(rc));
    return pid;
}

std::pair<UniqueFd, UniqueFd> make_pipe()
{
    int fds[2];
    BOOST_TEST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

TempDir::TempDir()
{
    char pattern[] = "/tmp/echod-test-XXXXXX";
    BOOST_TEST_REQUIRE(::mkdtemp(pattern) != nullptr);
    path_ = pattern;
    ::chmod(path_.c_str(), 0755);  // readable by an echod that runs as another user
}

TempDir::~TempDir()
{
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& content) const
{
    const std::string file = path_ + "/" + name;
    std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
    return file;
}

CommandResult run_command(const std::vector<std::string>& argv, const std::string& input,
                          std::chrono::milliseconds timeout,
                          const std::map<std::string, std::string>& env)
{
    auto [in_read, in_write] = make_pipe();
    auto [out_read, out_write] = make_pipe();
    auto [err_read, err_write] = make_pipe();
    const pid_t pid = spawn(argv, in_read.get(), out_write.get(), err_write.get(), env);
    in_read.reset();
    out_write.reset();
    err_write.reset();
    ::fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
    CommandResult result;
    std::size_t written = 0;
    if (input.empty()) {
        in_write.reset();
    }
    const Clock::time_point deadline = Clock::now() + timeout;
    while ((out_read || err_read) && Clock::now() < deadline) {
        pollfd fds[3] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0},
                         {in_write.get(), POLLOUT, 0}};
        if (::poll(fds, 3, ms_left(deadline)) <= 0) {
            continue;
        }
        if (fds[2].revents != 0) {
            const ssize_t n = ::write(in_write.get(), input.data() + written, input.size() - written);
            written += n > 0 ? static_cast<std::size_t>(n) : 0;
            if (n < 0 || written == input.size()) {
                in_write.reset();
            }
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].revents == 0) {
                continue;
            }
            char buffer[65536];
            const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n <= 0) {
                (i == 0 ? out_read : err_read).reset();
            } else {
                (i == 0 ? result.out : result.err).append(buffer, static_cast<std::size_t>(n));
            }
        }
    }
    if (out_read || err_read) {
        ::kill(pid, SIGKILL);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.status = decode_status(status);
    return result;
}

Daemon::Daemon(const std::vector<std::string>& args, const std::vector<std::string>& wrapper,
               const std::map<std::string, std::string>& env)
{
    std::vector<std::string> argv = wrapper;
    argv.push_back(echod_path());
    argv.insert(argv.end(), args.begin(), args.end());
    start(argv, env);
}

Daemon::Daemon(const Program& program, const std::map<std::string, std::string>& env)
{
    start(program.argv, env);
}

Daemon::Daemon(const std::vector<std::string>& args, const std::vector<int>& passed,
               const std::vector<std::string>& wrapper,
               const std::map<std::string, std::string>& env)
{
    std::vector<std::string> argv = wrapper;
    argv.push_back(echod_path());
    argv.insert(argv.end(), args.begin(), args.end());
    start(argv, env, passed);
}

void Daemon::start(const std::vector<std::string>& argv,
                   const std::map<std::string, std::string>& env, const std::vector<int>& passed)
{
    auto [log_read, log_write] = make_pipe();
    pid_ = spawn(argv, -1, -1, log_write.get(), env, passed);
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    BOOST_TEST_REQUIRE(static_cast<bool>(pidfd_), "pidfd_open: " << std::strerror(errno));
    reader_ = std::thread([this, fd = log_read.release()] { read_log(fd); });
}

Daemon::~Daemon()
{
    // Only the process this test started, by its pid: a fast stop ends its children too.
    if (!status_) {
        ::kill(pid_, SIGINT);
        if (wait_exit(10s) < 0) {
            ::kill(pid_, SIGKILL);
            wait_exit(10s);
        }
    }
    reader_.join();
}

void Daemon::read_log(int fd)
{
    UniqueFd owner(fd);
    std::string partial;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) != 0) {
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        partial.append(buffer, static_cast<std::size_t>(n));
        std::lock_guard<std::mutex> lock(mutex_);
        for (std::size_t end; (end = partial.find('\n')) != std::string::npos;) {
            lines_.push_back(partial.substr(0, end));
            partial.erase(0, end + 1);
        }
        changed_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (!partial.empty()) {
        lines_.push_back(partial);
    }
    log_closed_ = true;
    changed_.notify_all();
}

std::uint16_t Daemon::wait_ready(std::chrono::milliseconds timeout)
{
    // On a terminal, or under the journal (with its <N> priority).
    return port_in(wait_for(R"((notice: |^<5>)msg="ready" listening=\S+ port=\d+)", timeout));
}

std::uint16_t port_in(const std::string& line)
{
    std::smatch match;
    BOOST_TEST_REQUIRE(std::regex_search(line, match, std::regex(R"( port=(\d+))")), line);
    return static_cast<std::uint16_t>(std::stoi(match[1]));
}

std::string Daemon::wait_for(const std::string& pattern, std::chrono::milliseconds timeout,
                             std::size_t from)
{
    const std::regex re(pattern);
    std::unique_lock<std::mutex> lock(mutex_);
    const Clock::time_point deadline = Clock::now() + timeout;
    for (;;) {
        for (std::size_t i = from; i < lines_.size(); ++i) {
            if (std::regex_search(lines_[i], re)) {
                return lines_[i];
            }
        }
        from = std::max(from, lines_.size());
        if (log_closed_ || changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
            std::string all;
            for (const std::string& line : lines_) {
                all += line + "\n";
            }
            BOOST_FAIL("no log line matching /" << pattern << "/ "
                                                 << (log_closed_ ? "before echod exited" : "in time")
                                                 << "; log so far:\n" << all);
        }
    }
}

void Daemon::wait_total(const std::function<std::size_t(const std::string&)>& per_line,
                        std::size_t n, std::chrono::milliseconds timeout,
                        const std::string& what)
{
    std::unique_lock<std::mutex> lock(mutex_);
    std::size_t found = 0;
    std::size_t seen = 0;
    const Clock::time_point deadline = Clock::now() + timeout;
    for (;;) {
        for (; seen < lines_.size(); ++seen) {
            found += per_line(lines_[seen]);
        }
        if (found >= n) {
            return;
        }
        if (log_closed_ || changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
            BOOST_FAIL("only " << found << " of " << n << " " << what);
        }
    }
}

void Daemon::wait_count(const std::string& pattern, std::size_t n,
                        std::chrono::milliseconds timeout)
{
    const std::regex re(pattern);
    wait_total([&](const std::string& line) -> std::size_t { return std::regex_search(line, re) ? 1 : 0; },
               n, timeout, "log lines match /" + pattern + "/");
}

namespace {

// What one log line adds to the connections closed for a reason (`lines`, `summaries`:
// the patterns closed_count builds).
std::size_t closed_in(const std::string& line, const std::regex& lines, const std::regex& summaries)
{
    std::smatch match;
    if (std::regex_search(line, match, summaries)) {
        return std::stoul(match[1]);
    }
    return std::regex_search(line, lines) ? 1 : 0;
}

std::regex closed_line(const std::string& reason)
{
    return std::regex("msg=\"connection closed\" .* reason=" + reason + "( |$)");
}

std::regex summary_line(const std::string& reason)
{
    return std::regex("msg=\"connections summary\" .* " + reason + "=(\\d+) ");
}

}  // namespace

std::size_t Daemon::closed_count(const std::string& reason) const
{
    const std::regex lines = closed_line(reason);
    const std::regex summaries = summary_line(reason);
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t n = 0;
    for (const std::string& line : lines_) {
        n += closed_in(line, lines, summaries);
    }
    return n;
}

void Daemon::wait_closed_count(std::size_t n, const std::string& reason,
                               std::chrono::milliseconds timeout)
{
    const std::regex lines = closed_line(reason);
    const std::regex summaries = summary_line(reason);
    wait_total([&](const std::string& line) { return closed_in(line, lines, summaries); }, n,
               timeout, "connections closed with reason=" + reason + " in the log");
}

std::size_t Daemon::line_count() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_.size();
}

std::size_t Daemon::count(const std::string& pattern) const
{
    const std::regex re(pattern);
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t n = 0;
    for (const std::string& line : lines_) {
        n += std::regex_search(line, re) ? 1 : 0;
    }
    return n;
}

std::string Daemon::log() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    std::string all;
    for (const std::string& line : lines_) {
        all += line + "\n";
    }
    return all;
}

void Daemon::signal(int signal) const
{
    BOOST_TEST_REQUIRE(!status_);
    ::kill(pid_, signal);
}

int Daemon::wait_exit(std::chrono::milliseconds timeout)
{
    if (!status_) {
        pollfd pfd{pidfd_.get(), POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) {
            return -1;
        }
        int status = 0;
        ::waitpid(pid_, &status, 0);
        status_ = decode_status(status);
        // Take in the last lines too, so counts made after the exit are complete.
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait_for(lock, timeout, [this] { return log_closed_; });
    }
    return *status_;
}

boost::test_tools::assertion_result RunningAsRoot::operator()(boost::unit_test::test_unit_id) const
{
    boost::test_tools::assertion_result result(::geteuid() == 0);
    result.message() << "needs root (setuid to another user)";
    return result;
}

std::string echod_path() { return ECHOD_BINARY; }
std::string client_path() { return ECHOD_CLIENT_BINARY; }

namespace {

const char proxy_v2_signature[] = "\r\n\r\n\0\r\nQUIT\n";

std::string proxy_v2(std::uint8_t command, std::uint8_t family, const std::string& body)
{
    std::string header(proxy_v2_signature, 12);
    header += static_cast<char>(command);
    header += static_cast<char>(family);
    header += static_cast<char>(body.size() >> 8);
    header += static_cast<char>(body.size() & 0xff);
    return header + body;
}

std::string address_bytes(const std::string& address, bool v6)
{
    unsigned char bytes[16];
    BOOST_TEST_REQUIRE(::inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes) == 1,
                       address);
    return std::string(reinterpret_cast<const char*>(bytes), v6 ? 16 : 4);
}

std::string port_bytes(std::uint16_t port)
{
    return {static_cast<char>(port >> 8), static_cast<char>(port & 0xff)};
}

}  // namespace

std::string proxy_v2_header(const std::string& client, std::uint16_t client_port,
                            const std::string& server, std::uint16_t server_port)
{
    const bool v6 = client.find(':') != std::string::npos;
    return proxy_v2(0x21, v6 ? 0x21 : 0x11,
                    address_bytes(client, v6) + address_bytes(server, v6) +
                        port_bytes(client_port) + port_bytes(server_port));
}

std::string proxy_v2_local()
{
    return proxy_v2(0x20, 0x00, "");
}

UniqueFd connect_tcp(const std::string& address, std::uint16_t port, const std::string& source)
{
    const bool v6 = address.find(':') != std::string::npos;
    UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    BOOST_TEST_REQUIRE(static_cast<bool>(fd));
    sockaddr_storage storage{};
    socklen_t length = 0;
    auto fill = [&](const std::string& host, std::uint16_t p) {
        storage = {};
        if (v6) {
            auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(p);
            BOOST_TEST_REQUIRE(::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1);
            length = sizeof *in6;
        } else {
            auto* in = reinterpret_cast<sockaddr_in*>(&storage);
            in->sin_family = AF_INET;
            in->sin_port = htons(p);
            BOOST_TEST_REQUIRE(::inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1);
            length = sizeof *in;
        }
    };
    if (!source.empty()) {
        // Bind the address only; connect() picks the port for the whole 4-tuple. A bind()
        // that picks it alone searches the ephemeral range for a port free on every address,
        // which takes milliseconds a call once TIME_WAIT sockets crowd the range (after an
        // endurance run): 1000 connects then outlasted a 3 s idle_timeout.
        const int one = 1;
        BOOST_TEST_REQUIRE(::setsockopt(fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                                        sizeof one) == 0);
        fill(source, 0);
        BOOST_TEST_REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) == 0,
                           "bind " << source << ": " << std::strerror(errno));
    }
    fill(address, port);
    BOOST_TEST_REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) == 0,
                       "connect " << address << " port " << port << ": " << std::strerror(errno));
    ::fcntl(fd.get(), F_SETFL, O_NONBLOCK);
    return fd;
}

bool connection_refused(const std::string& address, std::uint16_t port)
{
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    ::inet_pton(AF_INET, address.c_str(), &in.sin_addr);
    return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&in), sizeof in) != 0 &&
           errno == ECONNREFUSED;
}

UniqueFd listen_loopback(std::uint16_t port)
{
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_TEST_REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&in), sizeof in) == 0,
                       "bind 127.0.0.1:" << port << ": " << std::strerror(errno));
    BOOST_TEST_REQUIRE(::listen(fd.get(), 16) == 0);
    return fd;
}

std::uint16_t local_port(int fd)
{
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    BOOST_TEST_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) == 0);
    return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);  // same offset in IPv6
}

std::uint16_t free_port()
{
    return local_port(listen_loopback().get());
}

void send_all(int fd, const std::string& data, std::chrono::milliseconds timeout)
{
    const Clock::time_point deadline = Clock::now() + timeout;
    std::size_t sent = 0;
    while (sent < data.size()) {
        const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        BOOST_TEST_REQUIRE((n < 0 && errno == EAGAIN), "send: " << std::strerror(errno));
        pollfd pfd{fd, POLLOUT, 0};
        BOOST_TEST_REQUIRE(::poll(&pfd, 1, ms_left(deadline)) == 1, "send timed out");
    }
}

std::string recv_exact(int fd, std::size_t n, std::chrono::milliseconds timeout)
{
    const Clock::time_point deadline = Clock::now() + timeout;
    std::string data;
    char buffer[65536];
    while (data.size() < n) {
        pollfd pfd{fd, POLLIN, 0};
        BOOST_TEST_REQUIRE(::poll(&pfd, 1, ms_left(deadline)) == 1,
                           "timed out after " << data.size() << " of " << n << " bytes");
        const ssize_t got = ::recv(fd, buffer, std::min(sizeof buffer, n - data.size()), 0);
        BOOST_TEST_REQUIRE(got > 0, "connection ended after " << data.size() << " of " << n
                                                              << " bytes");
        data.append(buffer, static_cast<std::size_t>(got));
    }
    return data;
}

void expect_echo(int fd, const std::string& message, std::chrono::milliseconds timeout)
{
    send_all(fd, message, timeout);
    BOOST_TEST(recv_exact(fd, message.size(), timeout) == message);
}

std::string echo_with_urgent_byte(const std::string& address, std::uint16_t port,
                                  std::chrono::milliseconds timeout)
{
    UniqueFd fd = connect_tcp(address, port);
    send_all(fd.get(), "abc");
    BOOST_TEST_REQUIRE(::send(fd.get(), "X", 1, MSG_OOB | MSG_NOSIGNAL) == 1,
                       "send MSG_OOB: " << std::strerror(errno));
    send_all(fd.get(), "def");
    ::shutdown(fd.get(), SHUT_WR);
    const Clock::time_point deadline = Clock::now() + timeout;
    std::string received;
    char buffer[256];
    for (;;) {
        pollfd pfd{fd.get(), POLLIN, 0};
        if (::poll(&pfd, 1, ms_left(deadline)) != 1) {
            return received;
        }
        const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
        if (n <= 0) {
            return received;
        }
        received.append(buffer, static_cast<std::size_t>(n));
    }
}

const char* echo_outcome_name(EchoOutcome outcome)
{
    switch (outcome) {
    case EchoOutcome::served: return "served";
    case EchoOutcome::refused: return "refused";
    case EchoOutcome::other: return "other";
    }
    return "?";
}

EchoOutcome attempt_echo(const std::string& source, std::uint16_t port,
                         const std::string& prefix, const std::string& message,
                         std::chrono::milliseconds timeout)
{
    const Clock::time_point deadline = Clock::now() + timeout;
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(port);
    const int one = 1;
    if (!fd || ::inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1 ||
        ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr) != 1 ||
        ::setsockopt(fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) != 0 ||
        ::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        ::connect(fd.get(), reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
        return EchoOutcome::other;
    }
    const std::string bytes = prefix + message;
    const ssize_t sent = ::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && (errno == EPIPE || errno == ECONNRESET)) {
        return EchoOutcome::refused;  // closed (and reset) before the bytes went out
    }
    if (sent != static_cast<ssize_t>(bytes.size())) {
        return EchoOutcome::other;
    }
    std::string received;
    char buffer[4096];
    while (received.size() < message.size()) {
        pollfd pfd{fd.get(), POLLIN, 0};
        if (::poll(&pfd, 1, ms_left(deadline)) != 1) {
            return EchoOutcome::other;
        }
        const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            return received.empty() ? EchoOutcome::refused : EchoOutcome::other;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return EchoOutcome::other;
        }
        received.append(buffer, static_cast<std::size_t>(n));
    }
    return received == message ? EchoOutcome::served : EchoOutcome::other;
}

bool wait_closed(int fd, std::chrono::milliseconds timeout)
{
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) != 1) {
        return false;
    }
    char byte;
    const ssize_t n = ::recv(fd, &byte, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

bool nothing_arrives(int fd, std::chrono::milliseconds quiet)
{
    pollfd pfd{fd, POLLIN, 0};
    return ::poll(&pfd, 1, static_cast<int>(quiet.count())) == 0;
}

void echo_once(std::uint16_t port, const std::string& message)
{
    UniqueFd fd = connect_tcp("127.0.0.1", port);
    send_all(fd.get(), message);
    ::shutdown(fd.get(), SHUT_WR);
    BOOST_TEST_REQUIRE(recv_exact(fd.get(), message.size()) == message);
    BOOST_TEST_REQUIRE(wait_closed(fd.get()));
}

std::string echo_full_duplex(int fd, const std::string& data, std::chrono::milliseconds timeout)
{
    const Clock::time_point deadline = Clock::now() + timeout;
    std::string received;
    std::size_t sent = 0;
    char buffer[65536];
    while (received.size() < data.size() && Clock::now() < deadline) {
        pollfd pfd{fd, static_cast<short>(POLLIN | (sent < data.size() ? POLLOUT : 0)), 0};
        if (::poll(&pfd, 1, ms_left(deadline)) <= 0) {
            continue;
        }
        if ((pfd.revents & POLLOUT) != 0) {
            const ssize_t n = ::send(fd, data.data() + sent, std::min<std::size_t>(data.size() - sent, 65536), MSG_NOSIGNAL);
            sent += n > 0 ? static_cast<std::size_t>(n) : 0;
        }
        if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
                break;
            }
            received.append(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
        }
    }
    return received;
}

UniqueFd bind_notify_socket(const std::string& path)
{
    UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    BOOST_TEST_REQUIRE(fd.get() >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    BOOST_TEST_REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    const int on = 1;
    BOOST_TEST_REQUIRE(::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0);
    return fd;
}

UnixDatagram receive_datagram(int fd)
{
    constexpr std::size_t most_fds = 8;
    char data[65536];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(most_fds * sizeof(int))];
    iovec io{data, sizeof data};
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd, &message, MSG_CMSG_CLOEXEC);
    BOOST_TEST_REQUIRE(n >= 0, "recvmsg: " << std::strerror(errno));
    BOOST_TEST((message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0, "datagram truncated");
    UnixDatagram datagram{std::string(data, static_cast<std::size_t>(n)), -1, {}};
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            ucred credentials{};
            std::memcpy(&credentials, CMSG_DATA(c), sizeof credentials);
            datagram.sender = credentials.pid;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (std::size_t i = 0; i < count; ++i) {
                int received = -1;
                std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof received);
                datagram.fds.emplace_back(received);
            }
        }
    }
    return datagram;
}

std::string process_wait_channel(pid_t pid)
{
    std::ifstream file("/proc/" + std::to_string(pid) + "/wchan");
    std::string channel;
    std::getline(file, channel);
    return channel;
}

std::size_t open_fd_count(pid_t pid)
{
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
        ++n;
    }
    return n;
}

namespace {

// (pid, state, ppid) of every process.
std::vector<std::tuple<pid_t, char, pid_t>> processes()
{
    std::vector<std::tuple<pid_t, char, pid_t>> result;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        // read(), not a stream: a process that exits while it is read makes read() fail
        // with ESRCH, which libstdc++'s filebuf turns into an exception.
        const UniqueFd stat(::open((entry.path() / "stat").c_str(), O_RDONLY | O_CLOEXEC));
        char buffer[1024];
        const ssize_t n = stat ? ::read(stat.get(), buffer, sizeof buffer) : -1;
        const std::string text(buffer, static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
        const auto close = text.rfind(')');
        if (close == std::string::npos) {
            continue;
        }
        std::istringstream rest(text.substr(close + 2));
        char state = '?';
        pid_t ppid = 0;
        rest >> state >> ppid;
        result.emplace_back(std::stoi(name), state, ppid);
    }
    return result;
}

}  // namespace

std::size_t zombie_children(pid_t pid)
{
    std::size_t n = 0;
    for (const auto& [child, state, ppid] : processes()) {
        n += ppid == pid && state == 'Z' ? 1 : 0;
    }
    return n;
}

std::size_t live_children(pid_t pid)
{
    std::size_t n = 0;
    for (const auto& [child, state, ppid] : processes()) {
        n += ppid == pid && state != 'Z' ? 1 : 0;
    }
    return n;
}

std::vector<pid_t> child_pids(pid_t pid)
{
    std::vector<pid_t> pids;
    for (const auto& [child, state, ppid] : processes()) {
        if (ppid == pid && state != 'Z') {
            pids.push_back(child);
        }
    }
    return pids;
}

bool wait_children_gone(pid_t pid, const std::vector<pid_t>& children, std::size_t left,
                        std::chrono::milliseconds timeout)
{
    auto still_there = [&] {
        const std::vector<pid_t> now = child_pids(pid);
        return static_cast<std::size_t>(std::count_if(children.begin(), children.end(), [&](pid_t c) {
            return std::find(now.begin(), now.end(), c) != now.end();
        }));
    };
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (still_there() > left) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

double cpu_seconds(pid_t pid)
{
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    std::istringstream rest(text.substr(text.rfind(')') + 2));
    std::string field;
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    for (int i = 3; i <= 15; ++i) {  // fields 14 and 15: utime, stime
        rest >> field;
        if (i == 14) {
            utime = std::stoull(field);
        } else if (i == 15) {
            stime = std::stoull(field);
        }
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int ss_backlog(std::uint16_t port)
{
    const CommandResult ss = run_command({"ss", "-ltnH", "sport = :" + std::to_string(port)});
    std::istringstream lines(ss.out);
    std::string state;
    int recv_q = 0;
    int send_q = -1;
    lines >> state >> recv_q >> send_q;
    return send_q;
}

}  // namespace echod::test

namespace echod::test {

std::string with_loopback_defaults(const std::string& settings)
{
    std::string text = settings;
    const std::string lines = "\n" + settings;
    if (lines.find("\nport") == std::string::npos) {
        text += "\nport = 0\n";
    }
    if (settings.find("address") == std::string::npos) {
        text += "\naddress = 127.0.0.1\n";
    }
    return text;
}

Echod::Echod(const std::string& settings, const std::vector<std::string>& args,
             const std::vector<std::string>& wrapper,
             const std::map<std::string, std::string>& env)
    : config(dir.write("echod.conf", with_loopback_defaults(settings))),
      daemon([&] {
          std::vector<std::string> all{"--config", config};
          all.insert(all.end(), args.begin(), args.end());
          return all;
      }(), wrapper, env),
      port(daemon.wait_ready())
{
}

void Echod::rewrite(const std::string& settings) const
{
    dir.write("echod.conf", settings);
}

void Echod::reload(const std::string& settings) const
{
    rewrite(settings);
    daemon.signal(SIGHUP);
}

}  // namespace echod::test
