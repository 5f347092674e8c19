// The systemd protocols on the real echod, outside systemd: the notify messages arrive on a
// real datagram socket named by NOTIFY_SOCKET (with the sender's credentials, so we see who
// sent them), and socket activation goes through systemd's own systemd-socket-activate.
// echod speaks both itself: libsystemd is never mapped. The protocol code alone is
// systemd_protocol_test; the same binary under a real systemd, tests/systemd/container-test.sh.
#define BOOST_TEST_MODULE systemd
#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

using namespace echod;
using namespace echod::test;
using namespace std::chrono_literals;

namespace {

struct Notification {
    pid_t sender = -1;
    std::string text;
    Clock::time_point at;
    bool has(const std::string& field) const
    {
        return ("\n" + text + "\n").find("\n" + field + "\n") != std::string::npos;
    }
    std::string value(const std::string& key) const
    {
        const std::string all = "\n" + text + "\n";
        const std::size_t at_key = all.find("\n" + key + "=");
        if (at_key == std::string::npos) {
            return {};
        }
        const std::size_t begin = at_key + key.size() + 2;
        return all.substr(begin, all.find('\n', begin) - begin);
    }
};

// What systemd listens on: a datagram socket that passes the sender's credentials.
class NotifySocket {
public:
    NotifySocket() : path_(dir_.path() + "/notify"), fd_(bind_notify_socket(path_)) {}

    const std::string& path() const { return path_; }

    // The next message, or nothing at the deadline.
    std::optional<Notification> next(std::chrono::milliseconds timeout)
    {
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
            return std::nullopt;
        }
        UnixDatagram datagram = receive_datagram(fd_.get());
        Notification notification;
        notification.sender = datagram.sender;
        notification.text = std::move(datagram.bytes);
        notification.at = Clock::now();
        received_.push_back(notification);
        return notification;
    }

    // Reads until a message has `field` (e.g. "READY=1"); fails the test at the deadline.
    Notification wait_for(const std::string& field, std::chrono::milliseconds timeout = 10s)
    {
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - Clock::now());
            if (auto n = next(std::max(left, 1ms)); n && n->has(field)) {
                return *n;
            }
        }
        BOOST_FAIL("no notification with " << field << " within " << timeout.count() << " ms");
        return {};
    }

    // Everything that arrives within `period`.
    std::vector<Notification> collect(std::chrono::milliseconds period)
    {
        std::vector<Notification> got;
        const auto deadline = Clock::now() + period;
        for (auto now = Clock::now(); now < deadline; now = Clock::now()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
            if (auto n = next(std::max(left, 1ms))) {
                got.push_back(*n);
            }
        }
        return got;
    }

    const std::vector<Notification>& received() const { return received_; }

private:
    TempDir dir_;
    std::string path_;
    UniqueFd fd_;
    std::vector<Notification> received_;
};

std::uint64_t monotonic_usec_now()
{
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1000000u +
           static_cast<std::uint64_t>(now.tv_nsec) / 1000u;
}

void all_from(const std::vector<Notification>& received, pid_t master)
{
    for (const Notification& n : received) {
        BOOST_TEST(n.sender == master, "notification '" << n.text << "' came from pid "
                                                         << n.sender << ", not the master");
    }
}

// True if a line of /proc/PID/maps names `library`.
bool maps_library(pid_t pid, const std::string& library)
{
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    for (std::string line; std::getline(maps, line);) {
        if (line.find(library) != std::string::npos) {
            return true;
        }
    }
    return false;
}

// Neither libsystemd nor a library it pulls in is mapped in `pid`: every fork would copy
// their mappings.
void maps_no_libsystemd(pid_t pid)
{
    BOOST_TEST_REQUIRE(maps_library(pid, "/libc.so.6"));  // the maps are read
    for (const char* library : {"/libsystemd.so", "/liblzma.so", "/libzstd.so", "/liblz4.so",
                                "/libgcrypt.so", "/libcap.so"}) {
        BOOST_TEST(!maps_library(pid, library), library << " is mapped");
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(ready_comes_once_listening_and_stopping_at_sigterm)
{
    NotifySocket notify;
    TempDir dir;
    const std::uint16_t port = free_port();
    const std::string config =
        dir.write("echod.conf", "address = 127.0.0.1\nport = " + std::to_string(port) + "\n");
    Daemon daemon({"--config", config}, {}, {{"NOTIFY_SOCKET", notify.path()}});

    const Notification ready = notify.wait_for("READY=1");
    maps_no_libsystemd(daemon.pid());  // echod speaks the protocol itself
    // No wait for the log line: READY=1 alone must mean that the port accepts.
    UniqueFd first = connect_tcp("127.0.0.1", port);
    expect_echo(first.get(), "ready means listening");
    BOOST_TEST(ready.value("STATUS").rfind("active=0 served=0 refused=0 ", 0) == 0,
               ready.value("STATUS"));
    first.reset();

    daemon.signal(SIGTERM);
    const Notification stopping = notify.wait_for("STOPPING=1");
    BOOST_TEST(stopping.value("STATUS").rfind("stopping: active=", 0) == 0);
    BOOST_TEST(daemon.wait_exit() == 0);
    all_from(notify.received(), daemon.pid());
}

BOOST_AUTO_TEST_CASE(status_follows_the_counters_at_most_once_a_second_and_only_when_they_move)
{
    NotifySocket notify;
    Echod echod("", {}, {}, {{"NOTIFY_SOCKET", notify.path()}});
    notify.wait_for("READY=1");

    // 3 s of connections one after another, while a thread timestamps every message as it
    // arrives: the counters change all the time, STATUS= may follow once a second.
    std::vector<Notification> during;
    std::thread reader([&] { during = notify.collect(3000ms); });
    int served = 0;
    for (const auto end = Clock::now() + 3000ms; Clock::now() < end; ++served) {
        UniqueFd c = connect_tcp("127.0.0.1", echod.port);
        expect_echo(c.get(), "connection " + std::to_string(served));
    }
    reader.join();
    std::size_t statuses = 0;
    for (const Notification& n : during) {
        statuses += n.value("STATUS").empty() ? 0 : 1;
    }
    BOOST_TEST(served > 100);
    BOOST_TEST(statuses >= 2u);
    BOOST_TEST(statuses <= 4u);
    // The last change is sent too, within a second (the reader thread, which may have
    // started late, can have taken it already).
    const std::string final_status =
        "active=0 served=" + std::to_string(served) + " refused=0 fork_failed=0 eof=" +
        std::to_string(served) + " ";
    bool seen = !during.empty() && during.back().value("STATUS").rfind(final_status, 0) == 0;
    for (const auto end = Clock::now() + 3s; !seen && Clock::now() < end;) {
        if (auto n = notify.next(100ms)) {
            seen = n->value("STATUS").rfind(final_status, 0) == 0;
        }
    }
    BOOST_TEST(seen, "no STATUS= starting with '" << final_status << "'");

    // Wake-ups that change nothing (SIGUSR1 three times) send nothing.
    for (std::size_t i = 1; i <= 3; ++i) {
        echod.daemon.signal(SIGUSR1);
        echod.daemon.wait_count("notice: msg=\"status\" active=0 ", i);
    }
    BOOST_TEST(notify.collect(1500ms).empty());
    all_from(notify.received(), echod.daemon.pid());
}

BOOST_AUTO_TEST_CASE(watchdog_pings_come_at_half_the_interval)
{
    NotifySocket notify;
    Echod echod("", {}, {}, {{"NOTIFY_SOCKET", notify.path()}, {"WATCHDOG_USEC", "300000"}});
    notify.wait_for("READY=1");
    // WATCHDOG_USEC=300 ms: a ping every 150 ms, about 8 in 1.2 s.
    std::size_t pings = 0;
    for (const Notification& n : notify.collect(1200ms)) {
        pings += n.has("WATCHDOG=1") ? 1 : 0;
    }
    BOOST_TEST(pings >= 5u);
    BOOST_TEST(pings <= 10u);
    all_from(notify.received(), echod.daemon.pid());
}

BOOST_AUTO_TEST_CASE(a_reload_is_bracketed_by_reloading_and_ready_whatever_its_outcome)
{
    NotifySocket notify;
    Echod echod("", {}, {}, {{"NOTIFY_SOCKET", notify.path()}});
    notify.wait_for("READY=1");

    const std::uint16_t new_port = free_port();
    const std::uint64_t before = monotonic_usec_now();
    echod.reload("address = 127.0.0.1\nport = " + std::to_string(new_port) + "\n");
    const Notification reloading = notify.wait_for("RELOADING=1");
    const std::uint64_t stamp = std::stoull(reloading.value("MONOTONIC_USEC"));
    BOOST_TEST(stamp >= before);
    BOOST_TEST(stamp <= monotonic_usec_now());
    const std::size_t ready_lines = notify.received().size();
    const Notification ready = notify.wait_for("READY=1");
    // Nothing in between but the fd store following the new port.
    for (std::size_t i = ready_lines; i + 1 < notify.received().size(); ++i) {
        BOOST_TEST(notify.received()[i].text.rfind("FDSTORE", 0) == 0, notify.received()[i].text);
    }
    BOOST_TEST(ready.value("STATUS").rfind("active=0 ", 0) == 0, ready.value("STATUS"));
    // READY=1 after a reload means the new settings are live.
    UniqueFd c = connect_tcp("127.0.0.1", new_port);
    expect_echo(c.get(), "live at READY=1");

    echod.reload("port = 70000\n");
    notify.wait_for("RELOADING=1");
    const Notification rejected = notify.wait_for("READY=1");
    BOOST_TEST(rejected.value("STATUS").rfind("last reload failed, running the previous "
                                              "settings: active=1 ", 0) == 0,
               rejected.value("STATUS"));
    expect_echo(c.get(), "still served");

    echod.reload("address = 127.0.0.1\nport = " + std::to_string(new_port) + "\n");
    BOOST_TEST(notify.wait_for("READY=1").value("STATUS").rfind("active=1 ", 0) == 0);
    all_from(notify.received(), echod.daemon.pid());
}

BOOST_AUTO_TEST_CASE(check_config_quiet_says_nothing_and_answers_with_its_exit_status)
{
    TempDir dir;
    const std::string good = dir.write("good.conf", "port = 7007\n");
    const std::string bad = dir.write("bad.conf", "port = 70000\n");
    const CommandResult ok = run_command({echod_path(), "--config", good, "--check-config", "-q"});
    BOOST_TEST(ok.status == 0);
    BOOST_TEST(ok.out.empty());
    BOOST_TEST(ok.err.empty());
    const CommandResult wrong =
        run_command({echod_path(), "--config", bad, "--check-config", "--quiet"});
    BOOST_TEST(wrong.status == 78);
    BOOST_TEST(wrong.out.empty());
    BOOST_TEST(wrong.err.empty());
    // Without --quiet the same file is explained.
    const CommandResult loud = run_command({echod_path(), "--config", bad, "--check-config"});
    BOOST_TEST(loud.status == 78);
    BOOST_TEST(loud.err.find("key 'port' has value '70000'") != std::string::npos, loud.err);
}

namespace {

// echod behind systemd's own socket activator, which listens on `listen` and, at the first
// connection, execs echod with the socket as descriptor 3 (LISTEN_FDS=1, LISTEN_PID set).
std::vector<std::string> socket_activate(const std::vector<std::string>& listen_options)
{
    std::vector<std::string> wrapper{"systemd-socket-activate"};
    wrapper.insert(wrapper.end(), listen_options.begin(), listen_options.end());
    return wrapper;
}

}  // namespace

BOOST_AUTO_TEST_CASE(socket_activation_adopts_the_passed_listener_and_ignores_the_files_port)
{
    TempDir dir;
    const std::uint16_t port = free_port();
    const std::uint16_t config_port = free_port();
    const std::string config = dir.write(
        "echod.conf", "address = 127.0.0.1\nport = " + std::to_string(config_port) +
                          "\nbacklog = 5\n");
    Daemon daemon({"--config", config},
                  socket_activate({"--listen=127.0.0.1:" + std::to_string(port)}));
    daemon.wait_for("Listening on 127.0.0.1:" + std::to_string(port));
    // The activator execs echod when the first client comes; that client is served.
    UniqueFd first = connect_tcp("127.0.0.1", port);
    BOOST_TEST(daemon.wait_ready() == port);
    daemon.wait_for("notice: msg=\"socket activation\" listening=127.0.0.1:" + std::to_string(port) +
                    " config=\\S+ unused_keys=address,port,backlog$");
    BOOST_TEST(daemon.count("notice: msg=\"ready\" listening=127.0.0.1:" + std::to_string(port) +
                            " port=" + std::to_string(port) + " backlog=socket-unit ") == 1u);
    expect_echo(first.get(), "the first client, queued before echod started");
    BOOST_TEST(connection_refused("127.0.0.1", config_port));
    // Urgent data arrives inline on the adopted socket too (SO_OOBINLINE set at adoption).
    BOOST_TEST(echo_with_urgent_byte("127.0.0.1", port) == "abcXdef");
    daemon.wait_for("bytes_in=7 bytes_out=7 .*reason=eof$");
    maps_no_libsystemd(daemon.pid());  // echod takes the sockets itself

    // A reload applies the other keys and keeps the adopted socket.
    dir.write("echod.conf", "address = 127.0.0.1\nport = " + std::to_string(config_port) +
                                "\nbacklog = 9\nmax_per_source = 1\n");
    daemon.signal(SIGHUP);
    daemon.wait_for("notice: msg=\"reload: the listening sockets come from the socket unit\" "
                    "config=\\S+ unused_keys=address,port,backlog$");
    daemon.wait_for("notice: msg=\"reloaded\" listening=127.0.0.1:" + std::to_string(port) +
                    " port=" + std::to_string(port) + " backlog=socket-unit max_children=256 "
                    "max_per_source=1 ");
    BOOST_TEST(connection_refused("127.0.0.1", config_port));
    UniqueFd second = connect_tcp("127.0.0.1", port);
    BOOST_TEST(wait_closed(second.get()));  // refused: the first client holds the one slot
    expect_echo(first.get(), "still served after the reload");

    first.reset();
    daemon.signal(SIGTERM);
    BOOST_TEST(daemon.wait_exit() == 0);
}

BOOST_AUTO_TEST_CASE(socket_activation_notes_a_unit_backlog_below_max_children)
{
    // The backlog is the socket unit's: echod reads what the kernel applied to the socket.
    TempDir dir;
    const std::uint16_t port = free_port();
    const std::string config = dir.write("echod.conf", "max_children = 100000\n");
    Daemon daemon({"--config", config},
                  socket_activate({"--listen=127.0.0.1:" + std::to_string(port)}));
    daemon.wait_for("Listening on 127.0.0.1:" + std::to_string(port));
    UniqueFd first = connect_tcp("127.0.0.1", port);
    BOOST_TEST(daemon.wait_ready() == port);
    const int backlog = ss_backlog(port);
    BOOST_TEST_REQUIRE(backlog > 0);
    BOOST_TEST(daemon.count("notice: msg=\"backlog below max_children; a longer burst may be refused\" "
                            "backlog=" + std::to_string(backlog) + " max_children=100000 queued_at_most=" +
                            std::to_string(backlog + 1) + "$") == 1u,
               daemon.log());
    expect_echo(first.get(), "served");
}

BOOST_AUTO_TEST_CASE(socket_activation_refuses_a_socket_that_is_not_a_tcp_listener)
{
    // (A bound UDP socket is adopted and served: udp_test.)
    TempDir dir;
    const std::string config = dir.write("echod.conf", "port = 7\n");

    // A Unix stream socket: the activator starts echod at the first connection.
    const std::string path = dir.path() + "/sock";
    Daemon unix_stream({"--config", config}, socket_activate({"--listen=" + path}));
    unix_stream.wait_for("Listening on " + path);
    UniqueFd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    BOOST_TEST_REQUIRE(::connect(client.get(), reinterpret_cast<sockaddr*>(&address),
                                 sizeof address) == 0);
    BOOST_TEST(unix_stream.wait_exit() == 71);
    BOOST_TEST(unix_stream.count("descriptor 3 is neither a listening TCP socket nor a bound UDP "
                                 "socket \\(not an IPv4 or IPv6 socket\\)") == 1u,
               unix_stream.log());
}

BOOST_AUTO_TEST_CASE(socket_activation_variables_left_by_a_parent_are_not_for_echod)
{
    // LISTEN_PID names another process: echod binds from its config.
    Echod inherited("", {}, {}, {{"LISTEN_PID", "1"}, {"LISTEN_FDS", "1"}});
    echo_once(inherited.port, "bound from the config");
    maps_no_libsystemd(inherited.daemon.pid());
}

namespace {

// Runs echod with `assignments` exported by a shell that then becomes echod, so that
// "$$" in them is echod's pid (LISTEN_PID=$$).
std::vector<std::string> exporting(const std::string& assignments)
{
    return {"sh", "-c", "export " + assignments + "; exec \"$@\"", "sh"};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_malformed_systemd_variable_fails_the_start_naming_it)
{
    // A Type=notify service whose notifications cannot be sent would only time out: echod
    // says what is wrong and exits 71 instead.
    TempDir dir;
    const std::string config = dir.write("echod.conf", "address = 127.0.0.1\nport = 0\n");
    struct Case {
        std::string assignments;
        std::string error;
    };
    const std::vector<Case> cases{
        {"NOTIFY_SOCKET=run/notify",
         "variable NOTIFY_SOCKET has value 'run/notify': expected an absolute path or '@' "
         "and an abstract socket name"},
        {"NOTIFY_SOCKET=@",
         "variable NOTIFY_SOCKET has value '@': the abstract socket name after '@' is empty"},
        {"NOTIFY_SOCKET=@echod-test WATCHDOG_USEC=soon",
         "variable WATCHDOG_USEC has value 'soon': expected a timeout in microseconds"},
        {"LISTEN_PID=$$ LISTEN_FDS=-1",
         "variable LISTEN_FDS has value '-1': expected a number of descriptors from 1 to "},
        {"LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=a:b",
         "variable LISTEN_FDNAMES has value 'a:b': 2 names for LISTEN_FDS=1 descriptors"},
        {"LISTEN_PID=$$ LISTEN_FDS=1", "variable LISTEN_FDS has value '1': descriptor 3 is not "
                                       "open"},
    };
    for (const Case& c : cases) {
        Daemon daemon({"--config", config}, exporting(c.assignments));
        BOOST_TEST(daemon.wait_exit() == 71, c.assignments);
        BOOST_TEST(daemon.count("error: msg=\"cannot start\" error=\"environment " + c.error) == 1u,
                   daemon.log());
    }
}

BOOST_AUTO_TEST_CASE(reload_request_returns_once_the_new_settings_are_live)
{
    Echod echod("");
    const std::uint16_t new_port = free_port();
    echod.rewrite("address = 127.0.0.1\nport = " + std::to_string(new_port) + "\n");
    const CommandResult reload =
        run_command({echod_path(), "--reload", std::to_string(echod.daemon.pid())});
    BOOST_TEST(reload.status == 0, reload.err);
    BOOST_TEST(reload.err.empty());
    // No wait for the log: the answer comes after the new listener is open.
    UniqueFd c = connect_tcp("127.0.0.1", new_port);
    expect_echo(c.get(), "live when --reload returns");
    BOOST_TEST(connection_refused("127.0.0.1", echod.port));
}

BOOST_AUTO_TEST_CASE(reload_request_fails_for_an_invalid_file_and_for_a_port_in_use)
{
    Echod echod("");
    const std::string pid = std::to_string(echod.daemon.pid());

    echod.rewrite("port = 70000\n");
    const CommandResult invalid = run_command({echod_path(), "--reload", pid});
    BOOST_TEST(invalid.status == 1);
    BOOST_TEST(invalid.err.find("error: msg=\"reload rejected; the daemon keeps its running settings, "
                                "its log says why\" pid=" + pid + "\n") !=
                   std::string::npos,
               invalid.err);
    // The master logs before it answers; the log reaches the harness through a pipe.
    echod.daemon.wait_for("error: msg=\"reload failed; .*key 'port' has value '70000'");

    UniqueFd taken = listen_loopback();
    echod.rewrite("address = 127.0.0.1\nport = " + std::to_string(local_port(taken.get())) +
                  "\n");
    const CommandResult in_use = run_command({echod_path(), "--reload", pid});
    BOOST_TEST(in_use.status == 1);
    echod.daemon.wait_for("error: msg=\"reload failed; .* error=\"bind 127.0.0.1:[0-9]+: Address already in use");

    UniqueFd c = connect_tcp("127.0.0.1", echod.port);
    expect_echo(c.get(), "the running settings are kept");
}

BOOST_AUTO_TEST_CASE(reload_request_without_a_master_is_unavailable_and_bad_pids_are_usage)
{
    // A pid that was just reaped: nobody answers, and the request cannot be sent.
    Daemon gone({"--version"});
    const pid_t pid = gone.pid();
    BOOST_TEST(gone.wait_exit() == 0);
    const CommandResult none = run_command({echod_path(), "--reload", std::to_string(pid)});
    BOOST_TEST(none.status == 69);
    BOOST_TEST(none.err.find("No such process") != std::string::npos, none.err);

    for (const std::string bad : {"abc", "0", "-5", "12x"}) {
        const CommandResult usage = run_command({echod_path(), "--reload", bad});
        BOOST_TEST(usage.status == 64, bad);
        BOOST_TEST(usage.err.find("--reload needs the pid of an echod master") !=
                       std::string::npos,
                   usage.err);
    }
}

namespace {

// The line of /proc/PID/status that starts with `field`, or "".
std::string status_field(pid_t pid, const std::string& field)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind(field, 0) == 0) {
            return line;
        }
    }
    return "";
}

// Whether `signal` is pending for the whole process `pid` (ShdPnd).
bool pending(pid_t pid, int signal)
{
    const std::string line = status_field(pid, "ShdPnd:");
    return !line.empty() && ((std::stoull(line.substr(7), nullptr, 16) >> (signal - 1)) & 1U);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_reload_request_is_answered_even_when_a_sighup_is_already_pending)
{
    // A standard signal does not queue: a request sent as SIGHUP while another SIGHUP was
    // pending merged with it, the requester never heard back, waited 30 s and exited 69.
    Echod echod("");
    const pid_t master = echod.daemon.pid();
    echod.daemon.signal(SIGSTOP);
    echod.daemon.signal(SIGHUP);
    Daemon requester({"--reload", std::to_string(master)});
    const auto deadline = Clock::now() + 10s;
    while (!pending(master, SIGRTMIN + 1) && Clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);  // the request is sent: it shows as pending
    }
    BOOST_TEST_REQUIRE(pending(master, SIGHUP));
    BOOST_TEST_REQUIRE(pending(master, SIGRTMIN + 1));
    echod.daemon.signal(SIGCONT);
    BOOST_TEST(requester.wait_exit(5s) == 0, requester.log());
    echod.daemon.wait_count("notice: msg=\"reloaded\" listening=", 2);  // the SIGHUP and the request
}

BOOST_AUTO_TEST_CASE(many_reload_requests_at_once_each_get_their_answer)
{
    Echod echod("");
    std::vector<std::unique_ptr<Daemon>> requesters;
    for (int i = 0; i < 8; ++i) {
        requesters.push_back(std::make_unique<Daemon>(
            std::vector<std::string>{"--reload", std::to_string(echod.daemon.pid())}));
    }
    for (auto& requester : requesters) {
        BOOST_TEST(requester->wait_exit(10s) == 0, requester->log());
    }
    echod.daemon.wait_count("notice: msg=\"reloaded\" listening=", 8);
}

BOOST_AUTO_TEST_CASE(a_reload_request_goes_only_to_an_echod_master)
{
    // Another process, or an echod child, gets nothing: it does not read the request from
    // a signalfd, and the signal's default action would end it.
    Daemon sleeper({}, {"sh", "-c", "exec sleep 30"});
    const CommandResult other =
        run_command({echod_path(), "--reload", std::to_string(sleeper.pid())});
    BOOST_TEST(other.status == 69);
    BOOST_TEST(other.err.find("pid " + std::to_string(sleeper.pid()) +
                              " is not an echod master") != std::string::npos,
               other.err);
    BOOST_TEST(::kill(sleeper.pid(), 0) == 0, "the other process was signalled");

    Echod echod("");
    UniqueFd client = connect_tcp("127.0.0.1", echod.port);
    expect_echo(client.get(), "a child to ask");
    const std::vector<pid_t> children = child_pids(echod.daemon.pid());
    BOOST_TEST_REQUIRE(children.size() == 1u);
    const CommandResult child =
        run_command({echod_path(), "--reload", std::to_string(children.front())});
    BOOST_TEST(child.status == 69);
    BOOST_TEST(child.err.find("is not an echod master") != std::string::npos, child.err);
    expect_echo(client.get(), "the child goes on");

    // Pid 1 is a valid pid (echod runs as PID 1 in a container); here it is no echod.
    const CommandResult init = run_command({echod_path(), "--reload", "1"});
    BOOST_TEST(init.status == 69);
    BOOST_TEST(init.err.find("pid 1 is not an echod master") != std::string::npos, init.err);
}

BOOST_AUTO_TEST_CASE(a_reload_request_from_outside_the_masters_pid_namespace_is_answered,
                     *boost::unit_test::precondition(RunningAsRoot()))
{
    // echod as PID 1 of a PID namespace of its own. Seen from there the requester's pid is
    // 0, so a signal cannot answer it: the datagram to its socket does.
    TempDir dir;
    const std::string config = dir.write("echod.conf", with_loopback_defaults(""));
    Daemon echod({"--config", config}, {"unshare", "--pid", "--fork", "--mount-proc"});
    const std::uint16_t port = echod.wait_ready();
    echod.wait_for(" pid=1$");
    const std::vector<pid_t> inside = child_pids(echod.pid());  // unshare's child: the master
    BOOST_TEST_REQUIRE(inside.size() == 1u);
    const CommandResult reload = run_command({echod_path(), "--reload", std::to_string(inside[0])});
    BOOST_TEST(reload.status == 0, reload.err);
    echod.wait_for("notice: msg=\"reloaded\" listening=");
    UniqueFd client = connect_tcp("127.0.0.1", port);
    expect_echo(client.get(), "served by PID 1");
    client.reset();
    echod.wait_for("msg=\"connection closed\" ");
    ::kill(inside[0], SIGTERM);
    BOOST_TEST(echod.wait_exit() == 0, echod.log());
}

BOOST_AUTO_TEST_CASE(a_forged_answer_to_a_reload_request_is_not_believed)
{
    // The answer socket's name is visible to every local user in /proc/net/unix. A forger
    // that sends "0" (applied) to each one it sees made `echod --reload` report success
    // for a reload the master had rejected. Only the master's own datagram counts now.
    Echod echod("");
    echod.rewrite("port = not-a-port\n");  // every reload is rejected
    std::atomic<bool> stop{false};
    std::atomic<int> forged{0};
    std::thread forger([&] {
        // One forged answer per socket: a flood would only fill its queue (10 datagrams),
        // which loses the master's answer too: `echod --reload` then reports no answer.
        const UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        std::set<std::string> seen;
        const auto end = Clock::now() + 30s;
        while (!stop.load() && Clock::now() < end) {
            std::ifstream table("/proc/net/unix");
            for (std::string line; std::getline(table, line);) {
                const auto at = line.find("@echod-reload-");
                if (at == std::string::npos || !seen.insert(line.substr(at)).second) {
                    continue;
                }
                sockaddr_un address{};
                address.sun_family = AF_UNIX;
                const std::string name = line.substr(at + 1);
                std::memcpy(address.sun_path + 1, name.data(), name.size());
                const auto length =
                    static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
                if (::sendto(fd.get(), "0", 1, 0, reinterpret_cast<sockaddr*>(&address),
                             length) == 1) {
                    forged.fetch_add(1);
                }
            }
        }
    });
    int believed = 0;
    for (int i = 0; i < 10; ++i) {
        const CommandResult reload =
            run_command({echod_path(), "--reload", std::to_string(echod.daemon.pid())});
        believed += reload.status == 0 ? 1 : 0;
        BOOST_TEST(reload.status == 1, "msg=\"status\" " << reload.status << ": " << reload.err);
    }
    stop.store(true);
    forger.join();
    BOOST_TEST_MESSAGE("FIGURE forged answers sent: " << forged.load() << ", believed: "
                                                      << believed);
    BOOST_TEST(believed == 0);
    echod.daemon.wait_count("error: msg=\"reload failed; ", 10);
}
