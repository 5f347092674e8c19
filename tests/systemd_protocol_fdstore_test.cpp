// Restarts through systemd's file descriptor store (daemon/fd_store.hpp), on the real echod
// and real sockets: a datagram socket stands in for systemd's notify socket and keeps what
// echod stores (FDSTORE=1, FDNAME=, the descriptor as SCM_RIGHTS) and drops what it removes
// (FDSTOREREMOVE=1), as systemd does; the next echod gets the kept sockets at descriptor 3
// on with LISTEN_FDS and LISTEN_FDNAMES, as systemd passes them. The same under a real
// systemd 252: tests/systemd/container-test.sh.
#define BOOST_TEST_MODULE systemd_protocol_fdstore
#include "daemon/fd_store.hpp"
#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <thread>
#include <string>
#include <vector>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {

// systemd's side of the store: every notification echod sends, in order, and the
// descriptors it keeps for it by name.
class FakeSystemd {
public:
    FakeSystemd() : path_(dir_.path() + "/notify"), fd_(bind_notify_socket(path_)) {}

    std::map<std::string, std::string> environment() const { return {{"NOTIFY_SOCKET", path_}}; }

    // Reads notifications until one is `lines` (whole lines: "READY=1" matches
    // "READY=1\nSTATUS=..."), or fails the test at the deadline.
    void wait_for(const std::string& lines, std::chrono::milliseconds timeout = 10s)
    {
        const auto deadline = test::Clock::now() + timeout;
        for (std::size_t i = messages_.size();; ++i) {
            while (i == messages_.size()) {
                if (!read_one(deadline)) {
                    BOOST_FAIL("no notification '" << lines << "' within " << timeout.count()
                                                   << " ms");
                }
            }
            if (messages_[i] == lines || messages_[i].rfind(lines + "\n", 0) == 0) {
                return;
            }
        }
    }
    // Reads what has arrived within `quiet`.
    void drain(std::chrono::milliseconds quiet = 200ms)
    {
        while (read_one(test::Clock::now() + quiet)) {
        }
    }

    // Puts a socket in the store, as an earlier master would have.
    void put(const std::string& name, UniqueFd fd) { store_[name].push_back(std::move(fd)); }

    std::set<std::string> names() const
    {
        std::set<std::string> names;
        for (const auto& [name, fds] : store_) {
            names.insert(name);
        }
        return names;
    }
    int fd(const std::string& name) const
    {
        const auto it = store_.find(name);
        BOOST_TEST_REQUIRE((it != store_.end() && it->second.size() == 1u), name);
        return it->second.front().get();
    }
    // The store as the next master gets it: descriptors in order, and LISTEN_FDNAMES.
    std::vector<int> passed_fds() const
    {
        std::vector<int> fds;
        for (const auto& [name, stored] : store_) {
            for (const UniqueFd& fd : stored) {
                fds.push_back(fd.get());
            }
        }
        return fds;
    }
    std::map<std::string, std::string> passed_environment() const
    {
        std::string names;
        std::size_t count = 0;
        for (const auto& [name, stored] : store_) {
            for (std::size_t i = 0; i < stored.size(); ++i, ++count) {
                names += (names.empty() ? "" : ":") + name;
            }
        }
        auto env = environment();
        env["LISTEN_FDS"] = std::to_string(count);
        env["LISTEN_FDNAMES"] = names;
        return env;
    }

    const std::vector<std::string>& messages() const { return messages_; }
    const std::vector<pid_t>& senders() const { return senders_; }

private:
    bool read_one(test::Clock::time_point deadline)
    {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                                test::Clock::now());
        pollfd p{fd_.get(), POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) {
            return false;
        }
        UnixDatagram datagram = receive_datagram(fd_.get());
        messages_.push_back(datagram.bytes);
        senders_.push_back(datagram.sender);
        const std::string name = field(datagram.bytes, "FDNAME");
        if (has(datagram.bytes, "FDSTORE=1")) {
            BOOST_TEST(datagram.fds.size() == 1u, datagram.bytes);
            for (UniqueFd& fd : datagram.fds) {
                store_[name].push_back(std::move(fd));
            }
        } else if (has(datagram.bytes, "FDSTOREREMOVE=1")) {
            BOOST_TEST(datagram.fds.empty());
            store_.erase(name);  // closed: the master's copy is all that is left
        }
        return true;
    }
    static bool has(const std::string& text, const std::string& line)
    {
        return ("\n" + text + "\n").find("\n" + line + "\n") != std::string::npos;
    }
    static std::string field(const std::string& text, const std::string& key)
    {
        const std::string all = "\n" + text + "\n";
        const std::size_t at = all.find("\n" + key + "=");
        if (at == std::string::npos) {
            return {};
        }
        const std::size_t begin = at + key.size() + 2;
        return all.substr(begin, all.find('\n', begin) - begin);
    }

    TempDir dir_;
    std::string path_;
    UniqueFd fd_;
    std::vector<std::string> messages_;
    std::vector<pid_t> senders_;
    std::map<std::string, std::vector<UniqueFd>> store_;
};

// echod run by a shell that exports LISTEN_PID=$$ and becomes echod, as systemd sets it.
const std::vector<std::string> with_listen_pid{"sh", "-c", "export LISTEN_PID=$$; exec \"$@\"",
                                               "sh"};

std::string tcp_name(std::uint16_t port) { return "echod-tcp-127.0.0.1-" + std::to_string(port); }
std::string udp_name(std::uint16_t port) { return "echod-udp-127.0.0.1-" + std::to_string(port); }

int socket_option(int fd, int level, int name)
{
    int value = -1;
    socklen_t length = sizeof value;
    BOOST_TEST_REQUIRE(::getsockopt(fd, level, name, &value, &length) == 0);
    return value;
}

// The inodes of the sockets `pid` holds (/proc/PID/fd links "socket:[N]").
std::set<ino_t> socket_inodes(pid_t pid)
{
    std::set<ino_t> inodes;
    for (const auto& entry :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
        std::error_code error;
        const std::string target = std::filesystem::read_symlink(entry.path(), error).string();
        if (!error && target.rfind("socket:[", 0) == 0) {
            inodes.insert(std::stoull(target.substr(8)));
        }
    }
    return inodes;
}

ino_t inode_of(int fd)
{
    struct stat status {};
    BOOST_TEST_REQUIRE(::fstat(fd, &status) == 0);
    return status.st_ino;
}

// A connection to 127.0.0.1:port established within `timeout` (by the kernel: no process
// needs to accept it), or an empty descriptor: refused, or a SYN left unanswered.
UniqueFd connect_within(std::uint16_t port, std::chrono::milliseconds timeout = 3s)
{
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&in), sizeof in) != 0) {
        if (errno != EINPROGRESS) {
            return {};
        }
        pollfd p{fd.get(), POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
            socket_option(fd.get(), SOL_SOCKET, SO_ERROR) != 0) {
            return {};
        }
    }
    const int flags = ::fcntl(fd.get(), F_GETFL);
    ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    return fd;
}

std::string peer_field(int client)
{
    return "msg=\"connection closed\" peer=127.0.0.1:" + std::to_string(local_port(client)) + " ";
}

UniqueFd udp_socket_on(std::uint16_t port)
{
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_TEST_REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&in), sizeof in) == 0);
    return fd;
}

// A port no IPv4 socket holds on any address: bound on 0.0.0.0 by the kernel's choice.
std::uint16_t port_free_everywhere()
{
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in any{};
    any.sin_family = AF_INET;
    BOOST_TEST_REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&any), sizeof any) == 0);
    return local_port(fd.get());
}

}  // namespace

BOOST_AUTO_TEST_CASE(store_names_carry_the_kind_and_the_address_and_no_colon)
{
    BOOST_TEST(fd_store_name("tcp", *parse_endpoint("127.0.0.1", 7)) == "echod-tcp-127.0.0.1-7");
    BOOST_TEST(fd_store_name("udp", *parse_endpoint("::1", 7007)) == "echod-udp-[--1]-7007");
    BOOST_TEST(fd_store_name("tcp", *parse_endpoint("::", 7)) == "echod-tcp-[--]-7");
    BOOST_TEST(is_fd_store_name("echod-tcp-[--]-7"));
    BOOST_TEST(is_fd_store_name("echod-udp-0.0.0.0-7"));
    // A socket unit's names are socket activation.
    BOOST_TEST(!is_fd_store_name("echod.socket"));
    BOOST_TEST(!is_fd_store_name("unknown"));
    BOOST_TEST(!is_fd_store_name("echod-tcp"));
}

BOOST_AUTO_TEST_CASE(outside_systemd_nothing_is_stored)
{
    Echod echod("");
    echo_once(echod.port, "no store");
    BOOST_TEST(echod.daemon.count("fd store") == 0u, echod.daemon.log());
}

// Each listening socket echod binds goes to the store before READY=1, under its name, as
// the real socket: the one the master listens on.
BOOST_AUTO_TEST_CASE(the_listeners_are_stored_before_ready_as_the_real_sockets)
{
    FakeSystemd systemd;
    Echod echod("udp = on\n", {}, {}, systemd.environment());
    systemd.wait_for("READY=1");
    systemd.drain();
    const std::uint16_t port = echod.port;
    BOOST_TEST((systemd.names() == std::set<std::string>{tcp_name(port), udp_name(port)}));
    const std::vector<std::string>& messages = systemd.messages();
    BOOST_TEST_REQUIRE(messages.size() >= 3u);
    BOOST_TEST(messages[0] == "FDSTORE=1\nFDNAME=" + tcp_name(port));
    BOOST_TEST(messages[1] == "FDSTORE=1\nFDNAME=" + udp_name(port));
    BOOST_TEST(messages[2].rfind("READY=1\n", 0) == 0u, messages[2]);
    for (pid_t sender : systemd.senders()) {
        BOOST_TEST(sender == echod.daemon.pid());
    }
    const int tcp = systemd.fd(tcp_name(port));
    const int udp = systemd.fd(udp_name(port));
    BOOST_TEST(socket_option(tcp, SOL_SOCKET, SO_ACCEPTCONN) == 1);
    BOOST_TEST(socket_option(tcp, SOL_SOCKET, SO_TYPE) == SOCK_STREAM);
    BOOST_TEST(socket_option(udp, SOL_SOCKET, SO_TYPE) == SOCK_DGRAM);
    BOOST_TEST(local_port(tcp) == port);
    BOOST_TEST(local_port(udp) == port);
    const std::set<ino_t> master = socket_inodes(echod.daemon.pid());
    BOOST_TEST(master.count(inode_of(tcp)) == 1u);
    BOOST_TEST(master.count(inode_of(udp)) == 1u);
    echod.daemon.wait_for("info: msg=\"fd store: stored\" tcp=127.0.0.1:" + std::to_string(port) +
                          " udp=127.0.0.1:" + std::to_string(port) + "$");
    echo_once(port, "served as before");
}

// systemctl restart: the first master stops (SIGTERM) while the store keeps its socket; the
// next one takes it back. Clients queued on the socket at the stop, while the first one
// drains, and between the two, are all served, and none is refused.
BOOST_DATA_TEST_CASE(a_restart_hands_the_listener_to_the_next_master_and_refuses_no_one,
                     boost::unit_test::data::make({"fork", "prefork"}), mode)
{
    FakeSystemd systemd;
    TempDir dir;
    const std::string config =
        dir.write("echod.conf", "address = 127.0.0.1\nport = 0\nshutdown_timeout = 10s\nmode = " +
                                    std::string(mode) + "\n");
    Daemon first({"--config", config}, {}, systemd.environment());
    const std::uint16_t port = first.wait_ready();
    systemd.wait_for("FDSTORE=1\nFDNAME=" + tcp_name(port));

    // A connection open across the restart, drained as at any stop.
    UniqueFd held = connect_tcp("127.0.0.1", port);
    expect_echo(held.get(), "before the restart");
    // Queued while the master is stopped: still there at SIGTERM.
    first.signal(SIGSTOP);
    UniqueFd queued = connect_within(port);
    BOOST_TEST_REQUIRE(static_cast<bool>(queued));
    send_all(queued.get(), "queued at the stop");
    first.signal(SIGTERM);
    first.signal(SIGCONT);
    first.wait_for("notice: msg=\"stopping\" signal=SIGTERM");
    BOOST_TEST(recv_exact(queued.get(), 18) == "queued at the stop");
    const std::string served_queued = peer_field(queued.get());
    queued.reset();
    // Only the held connection's child is left (prefork: the spares have gone, and none
    // can take the next client).
    BOOST_TEST_REQUIRE(wait_children_gone(first.pid(), child_pids(first.pid()), 1));

    // No filter and no shutdown on the stored socket: a client connects during the drain.
    UniqueFd during = connect_within(port);
    BOOST_TEST_REQUIRE(static_cast<bool>(during), "refused or unanswered during the drain");
    send_all(during.get(), "during the drain");
    expect_echo(held.get(), "while draining");
    held.reset();
    BOOST_TEST(first.wait_exit() == 0);
    UniqueFd between = connect_within(port);
    BOOST_TEST_REQUIRE(static_cast<bool>(between), "refused or unanswered between the masters");
    send_all(between.get(), "between the masters");

    systemd.drain();
    BOOST_TEST((systemd.names() == std::set<std::string>{tcp_name(port)}));
    const std::size_t sent_before = systemd.messages().size();
    Daemon second({"--config", config}, systemd.passed_fds(), with_listen_pid,
                  systemd.passed_environment());
    BOOST_TEST(second.wait_ready() == port);
    second.wait_for("notice: msg=\"listeners from the fd store\" listening=127.0.0.1:" +
                    std::to_string(port) + "$");
    BOOST_TEST(recv_exact(during.get(), 16) == "during the drain");
    BOOST_TEST(recv_exact(between.get(), 19) == "between the masters");
    echo_once(port, "after the restart");

    // Each was served by the master that accepted it; the store was not touched again.
    const std::string served_during = peer_field(during.get());
    during.reset();
    between.reset();
    BOOST_TEST(first.count(served_queued) == 1u, first.log());
    second.wait_for(served_during);
    BOOST_TEST(first.count(served_during) == 0u);
    systemd.drain();
    for (std::size_t i = sent_before; i < systemd.messages().size(); ++i) {
        BOOST_TEST(systemd.messages()[i].find("FDSTORE") == std::string::npos,
                   systemd.messages()[i]);
    }
    BOOST_TEST((systemd.names() == std::set<std::string>{tcp_name(port)}));
}

// The store as an earlier configuration left it: the configured port is taken back, a port
// no longer configured, a UDP socket with udp = off and a socket that no longer listens are
// removed, and their sockets closed.
BOOST_AUTO_TEST_CASE(stored_sockets_no_longer_wanted_are_removed)
{
    FakeSystemd systemd;
    UniqueFd wanted = listen_loopback();
    const std::uint16_t port = local_port(wanted.get());
    UniqueFd stale = listen_loopback();
    const std::uint16_t stale_port = local_port(stale.get());
    UniqueFd not_listening(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    systemd.put(tcp_name(port), std::move(wanted));
    systemd.put(tcp_name(stale_port), std::move(stale));
    systemd.put(udp_name(port), udp_socket_on(port));
    systemd.put("echod-tcp-127.0.0.1-1", std::move(not_listening));

    TempDir dir;
    const std::string config =
        dir.write("echod.conf", "address = 127.0.0.1\nport = " + std::to_string(port) + "\n");
    Daemon echod({"--config", config}, systemd.passed_fds(), with_listen_pid,
                 systemd.passed_environment());
    BOOST_TEST(echod.wait_ready() == port);
    echod.wait_for("notice: msg=\"listeners from the fd store\" listening=127.0.0.1:" +
                   std::to_string(port) + "$");
    echod.wait_for("warning: msg=\"fd store: unusable descriptor; removing it from the store\" "
                   "name=echod-tcp-127.0.0.1-1 error=\"fd store: descriptor [0-9]+ is neither a "
                   "listening TCP socket nor a bound UDP socket \\(not listening\\).*\"$");
    systemd.wait_for("READY=1");
    systemd.drain();
    BOOST_TEST((systemd.names() == std::set<std::string>{tcp_name(port)}));
    std::set<std::string> removed;
    for (const std::string& message : systemd.messages()) {
        BOOST_TEST(message.find("FDSTORE=1") == std::string::npos, message);
        if (message.rfind("FDSTOREREMOVE=1\nFDNAME=", 0) == 0) {
            removed.insert(message.substr(23));
        }
    }
    BOOST_TEST((removed == std::set<std::string>{tcp_name(stale_port), udp_name(port),
                                                 "echod-tcp-127.0.0.1-1"}));
    echod.wait_for("info: msg=\"fd store: removed\" tcp=");
    // Nobody holds the stale listener any more.
    BOOST_TEST(connection_refused("127.0.0.1", stale_port));
    echo_once(port, "the stored listener serves");
}

// A reload that moves the port and turns UDP off: the new listener is stored, the old one
// and its UDP twin are removed, before READY=1 ends the reload.
BOOST_AUTO_TEST_CASE(a_reload_keeps_the_store_in_step)
{
    FakeSystemd systemd;
    Echod echod("udp = on\n", {}, {}, systemd.environment());
    const std::uint16_t old_port = echod.port;
    systemd.wait_for("FDSTORE=1\nFDNAME=" + udp_name(old_port));
    systemd.drain();
    const std::size_t before = systemd.messages().size();

    const std::uint16_t new_port = free_port();
    echod.reload("address = 127.0.0.1\nport = " + std::to_string(new_port) + "\nudp = off\n");
    echod.daemon.wait_for("notice: msg=\"reloaded\" listening=127.0.0.1:" + std::to_string(new_port));
    systemd.drain();
    std::vector<std::string> after(systemd.messages().begin() + static_cast<long>(before),
                                   systemd.messages().end());
    std::vector<std::string> store_changes;
    for (const std::string& message : after) {
        if (message.find("FDSTORE") != std::string::npos || message.rfind("READY=1", 0) == 0) {
            store_changes.push_back(message.substr(0, message.find("\nSTATUS=")));
        }
    }
    BOOST_TEST((store_changes ==
                std::vector<std::string>{"FDSTOREREMOVE=1\nFDNAME=" + tcp_name(old_port),
                                         "FDSTOREREMOVE=1\nFDNAME=" + udp_name(old_port),
                                         "FDSTORE=1\nFDNAME=" + tcp_name(new_port), "READY=1"}));
    BOOST_TEST((systemd.names() == std::set<std::string>{tcp_name(new_port)}));
    BOOST_TEST(local_port(systemd.fd(tcp_name(new_port))) == new_port);
    echod.daemon.wait_for("info: msg=\"fd store: removed\" tcp=127.0.0.1:" + std::to_string(old_port) +
                          " udp=127.0.0.1:" + std::to_string(old_port) + "$");
    echod.daemon.wait_for("info: msg=\"fd store: stored\" tcp=127.0.0.1:" + std::to_string(new_port) +
                          "$");
    // The dropped listener is shut down as before: it is echod's alone again.
    BOOST_TEST(connection_refused("127.0.0.1", old_port));
    echo_once(new_port, "the new port");
}

// The address changed across a restart (127.0.0.1 to 0.0.0.0, same port): the stored
// socket, in the store and in echod, would keep 0.0.0.0 from being bound, and every restart
// would fail. It is removed from the store and closed before anything is bound, and the

// bind waits for systemd to close its copy.
BOOST_AUTO_TEST_CASE(a_restart_on_another_address_removes_the_stored_socket_before_binding)
{
    FakeSystemd systemd;
    // A port free on every address: a port the kernel picks for 127.0.0.1 alone may still
    // be held on 127.0.0.2 and up by an earlier test's connection in TIME_WAIT, which
    // keeps 0.0.0.0 from binding it whatever the store does.
    const std::uint16_t port = port_free_everywhere();
    systemd.put(tcp_name(port), listen_loopback(port));
    TempDir dir;
    const std::string config =
        dir.write("echod.conf", "address = 0.0.0.0\nport = " + std::to_string(port) + "\n");
    Daemon echod({"--config", config}, systemd.passed_fds(), with_listen_pid,
                 systemd.passed_environment());
    // systemd is slow to read the removal: meanwhile the port is in use.
    std::this_thread::sleep_for(300ms);
    systemd.wait_for("FDSTOREREMOVE=1\nFDNAME=" + tcp_name(port));
    BOOST_TEST(echod.wait_ready() == port);
    const std::string new_name = "echod-tcp-0.0.0.0-" + std::to_string(port);
    systemd.wait_for("READY=1");
    systemd.drain();
    const std::vector<std::string>& messages = systemd.messages();
    BOOST_TEST_REQUIRE(messages.size() >= 3u);
    BOOST_TEST(messages[0] == "FDSTOREREMOVE=1\nFDNAME=" + tcp_name(port));
    BOOST_TEST(messages[1] == "FDSTORE=1\nFDNAME=" + new_name);
    BOOST_TEST(messages[2].rfind("READY=1\n", 0) == 0u, messages[2]);
    BOOST_TEST((systemd.names() == std::set<std::string>{new_name}));
    BOOST_TEST(local_port(systemd.fd(new_name)) == port);
    echod.wait_for("info: msg=\"fd store: removed\" tcp=127.0.0.1:" + std::to_string(port) + "$");
    echod.wait_for("notice: msg=\"ready\" listening=0.0.0.0:" + std::to_string(port) + " ");
    BOOST_TEST(echod.count("listeners from the fd store") == 0u, echod.log());
    echo_once(port, "served on 0.0.0.0");
}

// A stored UDP socket whose TCP twin the store lost (its FDSTORE failed) kept every restart
// from binding its port. With udp = on on its address and port it is taken over, and its
// TCP socket bound afresh and stored.
BOOST_AUTO_TEST_CASE(a_stored_udp_socket_without_its_tcp_twin_is_taken_over)
{
    FakeSystemd systemd;
    const std::uint16_t port = free_port();
    UniqueFd lone = udp_socket_on(port);
    const ino_t lone_inode = inode_of(lone.get());
    systemd.put(udp_name(port), std::move(lone));
    TempDir dir;
    const std::string config = dir.write(
        "echod.conf", "address = 127.0.0.1\nport = " + std::to_string(port) + "\nudp = on\n");
    Daemon echod({"--config", config}, systemd.passed_fds(), with_listen_pid,
                 systemd.passed_environment());
    BOOST_TEST(echod.wait_ready() == port);
    echod.wait_for("notice: msg=\"listeners from the fd store\" udp=127.0.0.1:" +
                   std::to_string(port) + "$");
    systemd.wait_for("READY=1");
    systemd.drain();
    const std::vector<std::string>& messages = systemd.messages();
    BOOST_TEST_REQUIRE(messages.size() >= 2u);
    BOOST_TEST(messages[0] == "FDSTORE=1\nFDNAME=" + tcp_name(port));
    BOOST_TEST(messages[1].rfind("READY=1\n", 0) == 0u, messages[1]);
    BOOST_TEST((systemd.names() == std::set<std::string>{tcp_name(port), udp_name(port)}));
    BOOST_TEST(inode_of(systemd.fd(udp_name(port))) == lone_inode);
    echo_once(port, "TCP beside the stored UDP socket");

    UniqueFd client(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_TEST_REQUIRE(::connect(client.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
    BOOST_TEST_REQUIRE(::send(client.get(), "udp", 3, 0) == 3);
    pollfd p{client.get(), POLLIN, 0};
    BOOST_TEST_REQUIRE(::poll(&p, 1, 5000) == 1, "no UDP echo");
    char echo[16] = {};
    BOOST_TEST(::recv(client.get(), echo, sizeof echo, 0) == 3);
    BOOST_TEST(std::string(echo, 3) == "udp");
}

BOOST_AUTO_TEST_CASE(fdstore_values)
{
    BOOST_TEST(!parse_fd_store(std::nullopt).has_value());
    BOOST_TEST(parse_fd_store(std::string("4")).value());
    BOOST_TEST(!parse_fd_store(std::string("0")).value());
    for (const char* malformed : {"", "-1", "+4", "4 ", "x", "99999999999999999999999"}) {
        BOOST_CHECK_THROW(parse_fd_store(std::string(malformed)), SystemdVariableError);
    }
}

// systemd 254 and later say in FDSTORE how much room the unit's store has: none (0), or a
// malformed value, and echod stores nothing; some, and it stores its listener.
BOOST_DATA_TEST_CASE(fdstore_in_the_environment_says_whether_there_is_a_store,
                     boost::unit_test::data::make({"0", "4", "many"}), value)
{
    FakeSystemd systemd;
    auto environment = systemd.environment();
    environment["FDSTORE"] = value;
    Echod echod("", {}, {}, environment);
    systemd.wait_for("READY=1");
    systemd.drain();
    const bool store = std::string(value) == "4";
    std::size_t stored = 0;
    for (const std::string& message : systemd.messages()) {
        stored += message.find("FDSTORE=1") != std::string::npos ? 1 : 0;
    }
    BOOST_TEST(stored == (store ? 1u : 0u));
    BOOST_TEST((systemd.names() == (store ? std::set<std::string>{tcp_name(echod.port)}
                                          : std::set<std::string>{})));
    BOOST_TEST(echod.daemon.count("FDSTORE is malformed") ==
                   (std::string(value) == "many" ? 1u : 0u),
               echod.daemon.log());
    if (std::string(value) == "many") {
        echod.daemon.wait_for("notice: msg=\"fd store: not used; FDSTORE is malformed\" "
                              "error=\"environment variable FDSTORE has value 'many': .*\"$");
    }
    echo_once(echod.port, "served either way");
}
