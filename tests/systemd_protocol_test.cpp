// The systemd protocols as echod speaks them (daemon/systemd_protocol.hpp), in this
// process: notifications received on real AF_UNIX datagram sockets, byte for byte, with
// the descriptors they carry; the watchdog and socket activation variables with good and
// bad values; and real sockets placed at descriptor 3 on, as systemd passes them.
#define BOOST_TEST_MODULE systemd_protocol
#include "daemon/service_manager.hpp"
#include "daemon/systemd_protocol.hpp"
#include "harness.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {

// Runs `call` and requires it to throw E whose message contains `text`.
template <typename E = SystemdVariableError, typename Call>
void require_error(Call call, const std::string& text)
{
    try {
        call();
    } catch (const E& e) {
        BOOST_TEST(std::string(e.what()).find(text) != std::string::npos, e.what());
        return;
    }
    BOOST_FAIL("no error containing: " << text);
}

// Environment variables set for one test and removed after it.
class ScopedEnvironment {
public:
    ScopedEnvironment(std::initializer_list<std::pair<std::string, std::string>> variables = {})
    {
        for (const auto& [name, value] : variables) {
            set(name, value);
        }
    }
    ScopedEnvironment(const ScopedEnvironment&) = delete;
    ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;
    void set(const std::string& name, const std::string& value)
    {
        BOOST_TEST_REQUIRE(::setenv(name.c_str(), value.c_str(), 1) == 0);
        names_.push_back(name);
    }
    ~ScopedEnvironment()
    {
        for (const std::string& name : names_) {
            ::unsetenv(name.c_str());
        }
    }

private:
    std::vector<std::string> names_;
};

bool in_environment(const char* name) { return std::getenv(name) != nullptr; }

// What systemd listens on: an AF_UNIX datagram socket, at a path or an abstract name.
class Receiver {
public:
    // At `path`; at an abstract name when `path` starts with '@'.
    explicit Receiver(const std::string& name) : name_(name)
    {
        fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        BOOST_TEST_REQUIRE(fd_.get() >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path, name.data(), name.size());
        if (name[0] == '@') {
            address.sun_path[0] = '\0';
        }
        const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) +
                                                   name.size() + (name[0] == '@' ? 0 : 1));
        BOOST_TEST_REQUIRE(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), length) ==
                           0);
    }

    const std::string& name() const { return name_; }

    UnixDatagram next(std::chrono::milliseconds timeout = 5s)
    {
        pollfd p{fd_.get(), POLLIN, 0};
        BOOST_TEST_REQUIRE(::poll(&p, 1, static_cast<int>(timeout.count())) == 1);
        return receive_datagram(fd_.get());
    }

    bool empty()
    {
        pollfd p{fd_.get(), POLLIN, 0};
        return ::poll(&p, 1, 0) == 0;
    }

private:
    std::string name_;
    UniqueFd fd_;
};

// A name no other test run uses at once.
std::string abstract_name()
{
    static int n = 0;
    return "@echod-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

std::uint64_t monotonic_usec_now()
{
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1000000u +
           static_cast<std::uint64_t>(now.tv_nsec) / 1000u;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(notify_socket)

BOOST_AUTO_TEST_CASE(a_path_is_taken_with_its_terminating_nul)
{
    const NotifySocket socket = parse_notify_socket("/run/systemd/notify");
    BOOST_TEST(socket.address.sun_family == AF_UNIX);
    BOOST_TEST(std::string(socket.address.sun_path) == "/run/systemd/notify");
    BOOST_TEST(socket.length == offsetof(sockaddr_un, sun_path) + 20);
    BOOST_TEST(socket.name == "/run/systemd/notify");
}

BOOST_AUTO_TEST_CASE(an_abstract_name_starts_with_a_nul_and_its_length_ends_it)
{
    const NotifySocket socket = parse_notify_socket("@notify");
    BOOST_TEST(socket.address.sun_path[0] == '\0');
    BOOST_TEST(std::string(socket.address.sun_path + 1, 6) == "notify");
    BOOST_TEST(socket.length == offsetof(sockaddr_un, sun_path) + 7);
}

BOOST_AUTO_TEST_CASE(the_longest_names_that_fit_are_taken_and_one_byte_more_is_an_error)
{
    const std::size_t room = sizeof(sockaddr_un{}.sun_path) - 1;  // 107
    const std::string path = "/" + std::string(room - 1, 'p');
    BOOST_TEST(parse_notify_socket(path).length == offsetof(sockaddr_un, sun_path) + room + 1);
    require_error([&] { parse_notify_socket(path + "p"); },
                  "variable NOTIFY_SOCKET has value '/ppp");
    require_error([&] { parse_notify_socket(path + "p"); },
                  "': a socket path is at most 107 bytes long");
    const std::string name = "@" + std::string(room, 'a');
    BOOST_TEST(parse_notify_socket(name).length == offsetof(sockaddr_un, sun_path) + room + 1);
    require_error([&] { parse_notify_socket(name + "a"); },
                  "an abstract socket name is at most 107 bytes long");
}

BOOST_AUTO_TEST_CASE(a_relative_path_an_empty_name_and_other_addresses_are_errors)
{
    require_error([] { parse_notify_socket("run/notify"); },
                  "environment variable NOTIFY_SOCKET has value 'run/notify': expected an "
                  "absolute path or '@' and an abstract socket name");
    require_error([] { parse_notify_socket("@"); },
                  "NOTIFY_SOCKET has value '@': the abstract socket name after '@' is empty");
    require_error([] { parse_notify_socket("vsock:2:1234"); },
                  "NOTIFY_SOCKET has value 'vsock:2:1234': a vsock address, which echod does "
                  "not support");
    require_error([] { parse_notify_socket(""); }, "NOTIFY_SOCKET has value '': expected");
    // Control characters are shown escaped: the message goes to the journal.
    require_error([] { parse_notify_socket("x\x1b[2J"); }, "has value 'x\\x1b[2J'");
}

BOOST_AUTO_TEST_CASE(unset_or_empty_means_no_notifications)
{
    BOOST_TEST_REQUIRE(!in_environment("NOTIFY_SOCKET"));
    BOOST_TEST(!notify_socket_from_environment());
    ScopedEnvironment empty({{"NOTIFY_SOCKET", ""}});
    BOOST_TEST(!notify_socket_from_environment());
}

BOOST_AUTO_TEST_CASE(the_environment_is_parsed_and_a_bad_value_named)
{
    {
        ScopedEnvironment set({{"NOTIFY_SOCKET", "@echod"}});
        BOOST_TEST(notify_socket_from_environment()->name == "@echod");
    }
    ScopedEnvironment bad({{"NOTIFY_SOCKET", "notify"}});
    require_error([] { notify_socket_from_environment(); }, "NOTIFY_SOCKET has value 'notify'");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sending)

BOOST_AUTO_TEST_CASE(one_datagram_arrives_at_a_path_exactly_as_sent)
{
    TempDir dir;
    Receiver receiver(dir.path() + "/notify");
    const std::size_t before = open_fd_count(::getpid());
    send_notification(parse_notify_socket(receiver.name()), "READY=1\nSTATUS=ready");
    const UnixDatagram datagram = receiver.next();
    BOOST_TEST(datagram.bytes == "READY=1\nSTATUS=ready");
    BOOST_TEST(datagram.fds.empty());
    BOOST_TEST(open_fd_count(::getpid()) == before);  // the sending socket is closed again
}

BOOST_AUTO_TEST_CASE(one_datagram_arrives_at_an_abstract_name_exactly_as_sent)
{
    Receiver receiver(abstract_name());
    send_notification(parse_notify_socket(receiver.name()), "WATCHDOG=1");
    BOOST_TEST(receiver.next().bytes == "WATCHDOG=1");
    BOOST_TEST(receiver.empty());
}

BOOST_AUTO_TEST_CASE(fdstore_delivers_a_working_descriptor)
{
    Receiver receiver(abstract_name());
    int ends[2];
    BOOST_TEST_REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
    UniqueFd read_end(ends[0]);
    UniqueFd write_end(ends[1]);
    send_notification(parse_notify_socket(receiver.name()), "FDSTORE=1\nFDNAME=pipe",
                      {write_end.get()});
    write_end.reset();  // the received copy is now the only write end

    UnixDatagram datagram = receiver.next();
    BOOST_TEST(datagram.bytes == "FDSTORE=1\nFDNAME=pipe");
    BOOST_TEST_REQUIRE(datagram.fds.size() == 1u);
    BOOST_TEST_REQUIRE(::write(datagram.fds[0].get(), "stored", 6) == 6);
    datagram.fds.clear();
    char got[16];
    BOOST_TEST(::read(read_end.get(), got, sizeof got) == 6);
    BOOST_TEST(std::string(got, 6) == "stored");
    BOOST_TEST(::read(read_end.get(), got, sizeof got) == 0);  // no other copy was kept
}

BOOST_AUTO_TEST_CASE(several_descriptors_go_in_one_message_in_order)
{
    Receiver receiver(abstract_name());
    UniqueFd first = listen_loopback();
    UniqueFd second = listen_loopback();
    send_notification(parse_notify_socket(receiver.name()), "FDSTORE=1",
                      {first.get(), second.get()});
    const UnixDatagram datagram = receiver.next();
    BOOST_TEST_REQUIRE(datagram.fds.size() == 2u);
    BOOST_TEST(local_port(datagram.fds[0].get()) == local_port(first.get()));
    BOOST_TEST(local_port(datagram.fds[1].get()) == local_port(second.get()));
}

BOOST_AUTO_TEST_CASE(a_failed_send_names_the_call_and_the_socket)
{
    TempDir dir;
    require_error<std::system_error>(
        [&] { send_notification(parse_notify_socket(dir.path() + "/nobody"), "READY=1"); },
        "sendmsg to NOTIFY_SOCKET " + dir.path() + "/nobody: No such file or directory");
    require_error<std::system_error>(
        [] { send_notification(parse_notify_socket("@echod-test-nobody"), "READY=1"); },
        "sendmsg to NOTIFY_SOCKET @echod-test-nobody: Connection refused");
    const std::vector<int> too_many(254, 0);
    require_error<std::system_error>(
        [&] { send_notification(parse_notify_socket("@x"), "FDSTORE=1", too_many); },
        "sendmsg of 254 descriptors to NOTIFY_SOCKET @x: Invalid argument");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(service_manager)

// The texts ServiceManager sends are the ones systemd reads: each exactly.
BOOST_AUTO_TEST_CASE(ready_reloading_stopping_and_status_keep_their_exact_text)
{
    Receiver receiver(abstract_name());
    ScopedEnvironment notify({{"NOTIFY_SOCKET", receiver.name()}});
    ServiceManager manager;
    BOOST_TEST(!manager.next_due());  // no watchdog, no status pending

    manager.ready("active=0 served=0");
    BOOST_TEST(receiver.next().bytes == "READY=1\nSTATUS=active=0 served=0");

    const std::uint64_t before = monotonic_usec_now();
    manager.reloading();
    const std::string reloading = receiver.next().bytes;
    const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
    const std::string suffix = "\nSTATUS=reloading";
    BOOST_TEST_REQUIRE(reloading.rfind(prefix, 0) == 0, reloading);
    BOOST_TEST_REQUIRE(reloading.size() > prefix.size() + suffix.size());
    BOOST_TEST(reloading.substr(reloading.size() - suffix.size()) == suffix);
    const std::string stamp =
        reloading.substr(prefix.size(), reloading.size() - prefix.size() - suffix.size());
    BOOST_TEST(stamp.find_first_not_of("0123456789") == std::string::npos, stamp);
    BOOST_TEST(std::stoull(stamp) >= before);
    BOOST_TEST(std::stoull(stamp) <= monotonic_usec_now());

    manager.changed();
    manager.tick(echod::Clock::now() + 2s, [] { return std::string("active=1 served=1"); });
    BOOST_TEST(receiver.next().bytes == "STATUS=active=1 served=1");

    manager.stopping("stopping: active=1");
    BOOST_TEST(receiver.next().bytes == "STOPPING=1\nSTATUS=stopping: active=1");
    BOOST_TEST(receiver.empty());
}

BOOST_AUTO_TEST_CASE(watchdog_pings_are_watchdog_1_at_half_the_timeout)
{
    Receiver receiver(abstract_name());
    ScopedEnvironment notify({{"NOTIFY_SOCKET", receiver.name()}, {"WATCHDOG_USEC", "300000"}});
    ServiceManager manager;
    const auto start = echod::Clock::now();
    BOOST_TEST_REQUIRE(manager.next_due().has_value());
    manager.tick(start, [] { return std::string(); });
    BOOST_TEST(receiver.next().bytes == "WATCHDOG=1");
    BOOST_TEST((*manager.next_due() == start + 150ms));
    manager.tick(start + 100ms, [] { return std::string(); });
    BOOST_TEST(receiver.empty());
}

BOOST_AUTO_TEST_CASE(a_tiny_watchdog_timeout_pings_at_most_every_millisecond)
{
    // WATCHDOG_USEC=1: half of it is 0, which would make the master's loop spin.
    Receiver receiver(abstract_name());
    ScopedEnvironment notify({{"NOTIFY_SOCKET", receiver.name()}, {"WATCHDOG_USEC", "1"}});
    ServiceManager manager;
    const auto start = echod::Clock::now();
    manager.tick(start, [] { return std::string(); });
    BOOST_TEST(receiver.next().bytes == "WATCHDOG=1");
    BOOST_TEST((*manager.next_due() == start + 1ms));
}

BOOST_AUTO_TEST_CASE(without_notify_socket_nothing_is_sent_and_the_watchdog_is_not_read)
{
    ScopedEnvironment watchdog({{"WATCHDOG_USEC", "not read"}});
    ServiceManager manager;
    manager.ready("x");
    manager.changed();
    BOOST_TEST(!manager.next_due());
}

BOOST_AUTO_TEST_CASE(a_bad_variable_fails_the_construction_and_a_failed_send_does_not)
{
    {
        ScopedEnvironment bad({{"NOTIFY_SOCKET", "relative"}});
        require_error([] { ServiceManager manager; }, "NOTIFY_SOCKET has value 'relative'");
    }
    {
        ScopedEnvironment bad({{"NOTIFY_SOCKET", "@x"}, {"WATCHDOG_USEC", "0"}});
        require_error([] { ServiceManager manager; }, "WATCHDOG_USEC has value '0'");
    }
    // Nobody listens: a send that fails at run time is logged, never thrown.
    ScopedEnvironment nobody({{"NOTIFY_SOCKET", "@echod-test-nobody"}});
    ServiceManager manager;
    BOOST_CHECK_NO_THROW(manager.ready("x"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(watchdog)

BOOST_AUTO_TEST_CASE(watchdog_usec_is_the_timeout_in_microseconds)
{
    BOOST_TEST(!parse_watchdog({}, 100));
    BOOST_TEST(parse_watchdog({"300000", {}}, 100)->count() == 300000);
    BOOST_TEST(parse_watchdog({"1", {}}, 100)->count() == 1);
    // Above a year: a year (more pings than asked, no clock overflow).
    const auto year = std::chrono::microseconds(std::chrono::hours(24 * 365));
    BOOST_TEST((*parse_watchdog({"18446744073709551614", {}}, 100) == year));
}

BOOST_AUTO_TEST_CASE(watchdog_usec_garbage_zero_and_infinity_are_errors)
{
    for (const char* bad : {"", "0", "abc", "-5", "+5", " 5", "5 ", "5s", "1.5",
                            "18446744073709551615", "18446744073709551616"}) {
        require_error([&] { parse_watchdog({bad, {}}, 100); },
                      "environment variable WATCHDOG_USEC has value '" + std::string(bad) +
                          "': expected a timeout in microseconds, at least 1");
    }
}

BOOST_AUTO_TEST_CASE(watchdog_pid_of_another_process_means_no_watchdog)
{
    BOOST_TEST(parse_watchdog({"300000", "100"}, 100)->count() == 300000);
    BOOST_TEST(!parse_watchdog({"300000", "101"}, 100));
    for (const char* bad : {"", "0", "-1", "abc", "99999999999"}) {
        require_error([&] { parse_watchdog({"300000", bad}, 100); },
                      "variable WATCHDOG_PID has value '" + std::string(bad) +
                          "': expected a process id");
    }
}

BOOST_AUTO_TEST_CASE(the_environment_is_read_with_this_process_id)
{
    BOOST_TEST_REQUIRE(!in_environment("WATCHDOG_USEC"));
    BOOST_TEST(!watchdog_from_environment());
    ScopedEnvironment ours({{"WATCHDOG_USEC", "2000000"},
                            {"WATCHDOG_PID", std::to_string(::getpid())}});
    BOOST_TEST(watchdog_from_environment()->count() == 2000000);
    ScopedEnvironment other({{"WATCHDOG_PID", std::to_string(::getpid() + 1)}});
    BOOST_TEST(!watchdog_from_environment());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(listen_variables)

BOOST_AUTO_TEST_CASE(nothing_is_passed_without_listen_pid_or_to_another_process)
{
    BOOST_TEST(parse_listen_fds({}, 100).count == 0);
    BOOST_TEST(parse_listen_fds({{}, "2", "a:b"}, 100).count == 0);
    BOOST_TEST(parse_listen_fds({"101", "2", "a:b"}, 100).count == 0);
    BOOST_TEST(parse_listen_fds({"101", "garbage", "a"}, 100).count == 0);  // not ours to judge
    BOOST_TEST(parse_listen_fds({"100", {}, {}}, 100).count == 0);
}

BOOST_AUTO_TEST_CASE(listen_fds_counts_descriptors_and_listen_fdnames_names_each)
{
    const PassedFds unnamed = parse_listen_fds({"100", "2", {}}, 100);
    BOOST_TEST(unnamed.count == 2);
    BOOST_TEST(unnamed.names.empty());
    const PassedFds named = parse_listen_fds({"100", "3", "echo:echo6:"}, 100);
    BOOST_TEST(named.count == 3);
    BOOST_TEST((named.names == std::vector<std::string>{"echo", "echo6", ""}));
    BOOST_TEST(parse_listen_fds({"100", "2147483644", {}}, 100).count == INT_MAX - 3);
}

BOOST_AUTO_TEST_CASE(a_malformed_listen_pid_is_an_error)
{
    for (const char* bad : {"", "abc", "0", "-1", "12x", "2147483648"}) {
        require_error([&] { parse_listen_fds({bad, "1", {}}, 100); },
                      "environment variable LISTEN_PID has value '" + std::string(bad) +
                          "': expected a process id");
    }
}

BOOST_AUTO_TEST_CASE(a_malformed_listen_fds_is_an_error)
{
    for (const char* bad : {"", "abc", "0", "-1", "1x", "2147483645", "99999999999999999999"}) {
        require_error([&] { parse_listen_fds({"100", bad, {}}, 100); },
                      "environment variable LISTEN_FDS has value '" + std::string(bad) +
                          "': expected a number of descriptors from 1 to 2147483644");
    }
}

BOOST_AUTO_TEST_CASE(a_names_count_that_does_not_match_is_an_error)
{
    require_error([] { parse_listen_fds({"100", "2", "echo"}, 100); },
                  "environment variable LISTEN_FDNAMES has value 'echo': 1 names for "
                  "LISTEN_FDS=2 descriptors; expected one name each");
    require_error([] { parse_listen_fds({"100", "1", "a:b"}, 100); }, "2 names for LISTEN_FDS=1");
    require_error([] { parse_listen_fds({"100", "1", ""}, 100); }, "0 names for LISTEN_FDS=1");
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// Descriptors placed at 3, 4, ... with LISTEN_PID naming this process, as systemd passes
// them, and the descriptor after them closed, so a count too large fails there. What was
// open at those numbers (ctest passes this process descriptors of its own) is put back at
// the end, and what adoption did not take is closed.
class Passed {
public:
    explicit Passed(std::vector<UniqueFd> fds, const std::map<std::string, std::string>& extra = {})
        : count_(static_cast<int>(fds.size()))
    {
        // Out of the way first: a descriptor placed at 3 must not replace another one.
        std::vector<UniqueFd> high;
        for (const UniqueFd& fd : fds) {
            high.push_back(copy_above(fd.get(), 100));
        }
        fds.clear();
        for (int fd = listen_fds_start; fd <= listen_fds_start + count_; ++fd) {
            if (const int flags = ::fcntl(fd, F_GETFD); flags != -1) {
                saved_.push_back({fd, flags, copy_above(fd, 200)});
                ::close(fd);
            }
        }
        for (int i = 0; i < count_; ++i) {
            const int fd = listen_fds_start + i;
            BOOST_TEST_REQUIRE(::dup2(high[static_cast<std::size_t>(i)].get(), fd) == fd);
        }
        std::map<std::string, std::string> variables{
            {"LISTEN_PID", std::to_string(::getpid())}, {"LISTEN_FDS", std::to_string(count_)}};
        for (const auto& [name, value] : extra) {
            variables[name] = value;
        }
        for (const auto& [name, value] : variables) {
            environment_.set(name, value);
        }
    }
    Passed(const Passed&) = delete;
    Passed& operator=(const Passed&) = delete;
    ~Passed()
    {
        for (int fd = listen_fds_start; fd < listen_fds_start + count_; ++fd) {
            if (::fcntl(fd, F_GETFD) != -1) {
                ::close(fd);
            }
        }
        for (const Saved& saved : saved_) {
            ::dup2(saved.copy.get(), saved.fd);
            ::fcntl(saved.fd, F_SETFD, saved.flags);
        }
    }

private:
    struct Saved {
        int fd;
        int flags;
        UniqueFd copy;
    };

    static UniqueFd copy_above(int fd, int lowest)
    {
        UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, lowest));
        BOOST_TEST_REQUIRE(copy.get() >= lowest);
        return copy;
    }

    int count_;
    std::vector<Saved> saved_;
    ScopedEnvironment environment_;
};

std::vector<UniqueFd> one(UniqueFd fd)
{
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(fd));
    return fds;
}

UniqueFd inet_socket(int family, int type)
{
    UniqueFd fd(::socket(family, type | SOCK_CLOEXEC, 0));
    BOOST_TEST_REQUIRE(fd.get() >= 0);
    return fd;
}

UniqueFd listening_ipv6()
{
    UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return fd;  // no IPv6 here
    }
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_loopback;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd.get(), 5) != 0) {
        fd.reset();
    }
    return fd;
}

bool all_listen_variables_gone()
{
    return !in_environment("LISTEN_PID") && !in_environment("LISTEN_FDS") &&
           !in_environment("LISTEN_FDNAMES");
}

void require_refused(std::vector<UniqueFd> fds, const std::string& why)
{
    Passed passed(std::move(fds));
    require_error<std::system_error>([] { adopt_listeners(); },
                                     "socket activation: " + why);
    BOOST_TEST(all_listen_variables_gone());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(socket_activation)

BOOST_AUTO_TEST_CASE(listening_tcp_sockets_are_adopted_with_their_names)
{
    UniqueFd ipv4 = listen_loopback();
    const std::uint16_t port = local_port(ipv4.get());
    std::vector<UniqueFd> fds = one(std::move(ipv4));
    UniqueFd ipv6 = listening_ipv6();
    const bool with_ipv6 = static_cast<bool>(ipv6);
    std::string names = "echo";
    if (with_ipv6) {
        fds.push_back(std::move(ipv6));
        names += ":echo6";
    }
    Passed passed(std::move(fds), {{"LISTEN_FDNAMES", names}});
    std::vector<Listener> listeners = adopt_listeners();
    BOOST_TEST(all_listen_variables_gone());
    BOOST_TEST_REQUIRE(listeners.size() == (with_ipv6 ? 2u : 1u));
    for (std::size_t i = 0; i < listeners.size(); ++i) {
        const int fd = listeners[i].fd.get();
        BOOST_TEST(fd == listen_fds_start + static_cast<int>(i));
        BOOST_TEST(listeners[i].adopted);
        BOOST_TEST((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
        BOOST_TEST((::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    }
    BOOST_TEST(listeners[0].fd_name == "echo");
    BOOST_TEST(listeners[0].address == "127.0.0.1");
    BOOST_TEST(listeners[0].bound.port() == port);
    if (with_ipv6) {
        BOOST_TEST(listeners[1].fd_name == "echo6");
        BOOST_TEST(listeners[1].address == "::1");
    }
    // Still the listening socket: a client connects and is accepted on it.
    UniqueFd client = connect_tcp("127.0.0.1", port);
    pollfd p{listeners[0].fd.get(), POLLIN, 0};
    BOOST_TEST(::poll(&p, 1, 5000) == 1);
    BOOST_TEST(UniqueFd(::accept4(listeners[0].fd.get(), nullptr, nullptr, SOCK_CLOEXEC)).get() >= 0);
}

BOOST_AUTO_TEST_CASE(without_listen_fdnames_each_is_named_unknown)
{
    Passed passed(one(listen_loopback()));
    const std::vector<PassedFd> taken = take_listen_fds();
    BOOST_TEST_REQUIRE(taken.size() == 1u);
    BOOST_TEST(taken[0].fd.get() == listen_fds_start);
    BOOST_TEST(taken[0].name == "unknown");
    BOOST_TEST((::fcntl(taken[0].fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
    BOOST_TEST(all_listen_variables_gone());
}

BOOST_AUTO_TEST_CASE(a_bound_udp_socket_is_adopted_as_a_udp_socket)
{
    UniqueFd udp = inet_socket(AF_INET, SOCK_DGRAM);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_TEST_REQUIRE(::bind(udp.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) ==
                       0);
    const std::uint16_t port = local_port(udp.get());
    std::vector<UniqueFd> fds = one(listen_loopback());
    fds.push_back(std::move(udp));
    Passed passed(std::move(fds), {{"LISTEN_FDNAMES", "echo:echo-udp"}});
    std::vector<Listener> listeners = adopt_listeners();
    BOOST_TEST_REQUIRE(listeners.size() == 2u);
    BOOST_TEST(listeners[0].fd.get() == listen_fds_start);
    BOOST_TEST(!listeners[0].udp);
    // The UDP one: in `udp`, not `fd`, with its address, port and name.
    BOOST_TEST(!listeners[1].fd);
    BOOST_TEST(listeners[1].udp.get() == listen_fds_start + 1);
    BOOST_TEST(listeners[1].adopted);
    BOOST_TEST(listeners[1].fd_name == "echo-udp");
    BOOST_TEST(listeners[1].address == "127.0.0.1");
    BOOST_TEST(listeners[1].bound.port() == port);
    BOOST_TEST((::fcntl(listeners[1].udp.get(), F_GETFL) & O_NONBLOCK) != 0);
    // Each datagram will come with the address it was sent to.
    int on = 0;
    socklen_t length = sizeof on;
    BOOST_TEST(::getsockopt(listeners[1].udp.get(), IPPROTO_IP, IP_PKTINFO, &on, &length) == 0);
    BOOST_TEST(on == 1);
    BOOST_TEST(format_listeners(listeners) == "127.0.0.1:" + std::to_string(local_port(
                                                                  listeners[0].fd.get())));
}

BOOST_AUTO_TEST_CASE(each_kind_of_descriptor_that_is_no_tcp_listener_is_refused_with_why)
{
    require_refused(one(inet_socket(AF_INET, SOCK_STREAM)),
                    "descriptor 3 is neither a listening TCP socket nor a bound UDP socket (not "
                    "listening)");
    require_refused(one(inet_socket(AF_INET, SOCK_DGRAM)),
                    "descriptor 3 is neither a listening TCP socket nor a bound UDP socket (a UDP "
                    "socket that is not bound)");
    int ends[2];
    BOOST_TEST_REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
    UniqueFd write_end(ends[1]);
    require_refused(one(UniqueFd(ends[0])),
                    "descriptor 3 is neither a listening TCP socket nor a bound UDP socket (not a "
                    "socket)");
    TempDir dir;
    UniqueFd unix_listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string path = dir.path() + "/listening";
    std::memcpy(address.sun_path, path.data(), path.size());
    BOOST_TEST_REQUIRE(::bind(unix_listener.get(), reinterpret_cast<sockaddr*>(&address),
                              sizeof address) == 0);
    BOOST_TEST_REQUIRE(::listen(unix_listener.get(), 5) == 0);
    require_refused(one(std::move(unix_listener)),
                    "descriptor 3 is neither a listening TCP socket nor a bound UDP socket (not "
                    "an IPv4 or IPv6 socket)");
}

BOOST_AUTO_TEST_CASE(the_refusal_names_the_descriptor_that_is_wrong)
{
    std::vector<UniqueFd> fds = one(listen_loopback());
    fds.push_back(inet_socket(AF_INET, SOCK_DGRAM));
    require_refused(std::move(fds), "descriptor 4 is neither a listening TCP socket nor a bound "
                                    "UDP socket (a UDP socket that is not bound)");
}

BOOST_AUTO_TEST_CASE(a_count_beyond_the_open_descriptors_names_the_first_missing_one)
{
    Passed passed(one(listen_loopback()), {{"LISTEN_FDS", "2147483644"}});
    require_error([] { take_listen_fds(); },
                  "variable LISTEN_FDS has value '2147483644': descriptor 4 is not open");
    BOOST_TEST(all_listen_variables_gone());
}

BOOST_AUTO_TEST_CASE(variables_for_another_process_are_removed_and_its_descriptors_left)
{
    Passed passed(one(listen_loopback()), {{"LISTEN_PID", std::to_string(::getpid() + 1)}});
    BOOST_TEST(adopt_listeners().empty());
    BOOST_TEST(all_listen_variables_gone());
    const int flags = ::fcntl(listen_fds_start, F_GETFD);
    BOOST_TEST(flags != -1);  // left open
    BOOST_TEST((flags & FD_CLOEXEC) == 0);  // and untouched
}

BOOST_AUTO_TEST_CASE(malformed_variables_are_errors_and_are_removed_all_the_same)
{
    {
        Passed passed(one(listen_loopback()), {{"LISTEN_PID", "garbage"}});
        require_error([] { adopt_listeners(); }, "LISTEN_PID has value 'garbage'");
        BOOST_TEST(all_listen_variables_gone());
    }
    {
        Passed passed(one(listen_loopback()), {{"LISTEN_FDS", "-1"}});
        require_error([] { adopt_listeners(); }, "LISTEN_FDS has value '-1'");
        BOOST_TEST(all_listen_variables_gone());
    }
    Passed passed(one(listen_loopback()), {{"LISTEN_FDNAMES", "a:b"}});
    require_error([] { adopt_listeners(); }, "LISTEN_FDNAMES has value 'a:b'");
    BOOST_TEST(all_listen_variables_gone());
}

BOOST_AUTO_TEST_SUITE_END()
