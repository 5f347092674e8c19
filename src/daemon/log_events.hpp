// Every line the master logs, one function per event (in log_events.cpp, and the limit
// episodes in log_episodes.cpp), each with its fixed wording (man/echod.8,
// LOGGING, lists them; tests and operators grep for them). Every line is logfmt,
// msg="..." key=value ..., built by LogLine (daemon/logfmt.hpp). Call sites pass values and
// never build a line themselves. Lines logged per connection check their level
// before formatting anything: formatting writes heap pages that each live child would then
// keep a copy of.
#pragma once

#include "child/echo_session.hpp"
#include "common/admission.hpp"
#include "daemon/config.hpp"
#include "os/address.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace echod {

struct ChildReport;
struct Child;
struct UdpCounts;
struct ConnectionWindow;

// --- start, reload, stop -------------------------------------------------------------
struct ListeningState {
    const std::string& listening;  // format_listeners()
    std::uint16_t port;
    std::optional<int> backlog;  // none: the sockets came from the socket unit
    const Config& config;
    std::string udp;  // the UDP sockets served, as `listening`; "" for none
};
void log_ready(const ListeningState& state);
void log_reloaded(const ListeningState& state);
void log_socket_activation(const std::string& listening, const std::string& config_path);
void log_reload_socket_keys_unused(const std::string& config_path);
void log_reload_fixed_keys_unchanged();
void log_reload_failed(const std::string& why);
void log_reload_ignored_stopping();
void log_stopping(const char* signal_name, std::size_t active,
                  std::optional<std::chrono::milliseconds> drain);
void log_shutdown_timeout_reached(std::size_t active);
void log_sending_sigkill(std::size_t children);
void log_stopped(std::uint64_t served);
void log_status(const std::string& counters, const std::string& listening);

// --- start-up steps ------------------------------------------------------------------
void log_ipv6_missing(const std::string& why);
void log_backlog_clamped(int backlog, int effective);
void log_backlog_below_max_children(int backlog, unsigned max_children);
void log_user_ignored_not_root(const std::string& user);
// A limit below what the settings need (daemon/resource_limits.hpp): at start and reload.
void log_pids_limit_low(std::uint64_t limit, const std::string& cgroup, std::uint64_t needed,
                        unsigned max_children, bool udp_child);
void log_nproc_limit_low(std::uint64_t limit, uid_t uid, std::uint64_t needed,
                         unsigned max_children, bool udp_child);
void log_nofile_limit_low(std::uint64_t limit, std::uint64_t needed, std::size_t sockets);
void log_privileges_dropped(const std::string& user, uid_t uid, gid_t gid);
void log_config_error(const std::string& why);
void log_cannot_start(const std::string& why);
void log_fatal(const std::string& why);
void log_notify_failed(const std::string& why);

// --- connections ---------------------------------------------------------------------
// `via`: the balancer, when a PROXY header named the client; `local`: the balancer's own
// connection (a health check), whose lines are at debug only.
void log_connection_accepted(const Endpoint& client, const Endpoint* via, bool local, pid_t pid);

// How a connection's child ended, as far as the master knows.
struct ConnectionEnd {
    const ChildReport* report;  // the child's `finished` record; null: it died without one
    int wait_status;            // without a report: how the child ended (waitpid)
};
// warning for a child that failed or died without its report, debug for a balancer's health
// check (local), info otherwise: only the info lines are summarised under a flood.
LogLevel connection_closed_level(const Child& child, const ChildReport* report);
void log_connection_closed(const Child& child, pid_t pid, const ConnectionEnd& end,
                           std::chrono::milliseconds duration);
// Under a flood (daemon/connection_lines.hpp): the info lines above give way to summaries.
void log_connection_lines_paused(unsigned rate, unsigned threshold, std::chrono::seconds every);
void log_connection_summary(const ConnectionWindow& window, long long window_ms);
void log_connection_lines_resumed(unsigned rate, std::uint64_t summarised, long long paused_ms);
// Closed before anything was echoed (debug; the episode lines below summarise).
void log_connection_refused(const Endpoint& client, const Endpoint* via, Refusal refusal,
                            const char* why);
void log_spare_exited(pid_t pid, int wait_status);  // the first of an episode
void log_spare_limit_cleared(std::uint64_t deaths, long long duration_ms);

// --- limits: one line when entered, one when left ------------------------------------
void log_children_limit_reached(unsigned max_children);
void log_children_limit_cleared(unsigned max_children, long long duration_ms);
// A source (max_per_source) or a network (max_per_network) of clients at its limit.
enum class ClientLimitKind { source, network, rate };
void log_client_limit_reached(ClientLimitKind kind, unsigned limit, const std::string& name);
void log_client_limit_cleared(ClientLimitKind kind, unsigned limit, const std::string& name,
                              std::uint64_t refused, long long duration_ms);
// Refusals that are not a client's limit: allow/deny, proxy_trusted, bad PROXY headers.
void log_refusals_began(Refusal refusal, const Endpoint& client, const char* why);
void log_refusals_ended(Refusal refusal, std::uint64_t refused, long long duration_ms);
// `consequence`: what a failed fork costs in this mode
void log_fork_limit_reached(int error, const char* consequence);
void log_fork_limit_cleared(std::uint64_t failures, long long duration_ms);
void log_accept_limit_reached(int error);
void log_child_accept_limit_reached(int error);
void log_accept_limit_cleared(std::uint64_t failures, long long duration_ms);

// --- echod --reload PID ---------------------------------------------------------------
void log_reload_request_rejected(pid_t pid);
void log_reload_request_stopping(pid_t pid);
void log_reload_request_unanswered(pid_t pid, std::chrono::milliseconds waited);
void log_reload_request_failed(const std::string& why);

// --- UDP echo: the UDP child, and the datagrams it drops ------------------------------
void log_udp_child_exited(pid_t pid, int wait_status);  // unasked; the first of an episode
void log_udp_fork_failed(int error);                    // the first of an episode
void log_udp_down_cleared(std::uint64_t times, long long duration_ms);
void log_udp_drops_reached(const UdpCounts& first);
void log_udp_drops_cleared(const UdpCounts& dropped, long long duration_ms);
// Socket activation: UDP sockets passed with udp = off, or udp = on with none passed.
void log_udp_sockets_unused(const std::string& sockets);
void log_udp_no_socket_from_unit();

// --- the metrics file: a failure once when it begins, once when it ends --------------
void log_metrics_write_failed(const std::string& path, const char* call, int error,
                              std::chrono::seconds retry);
void log_metrics_written_again(const std::string& path, std::uint64_t failures,
                               long long duration_ms);
// --- systemd's file descriptor store (daemon/fd_store.hpp) ---------------------------
// At start: the listeners taken over from the store, TCP and UDP; each "" when none.
void log_fd_store_taken(const std::string& listening, const std::string& udp);
// `what`: "stored" or "removed"; `sockets`: "tcp=A,B udp=C".
void log_fd_store_changed(const char* what, const std::string& sockets);
void log_fd_store_unusable(const std::string& name, const std::string& why);
void log_fd_store_failed(const std::string& name, const std::string& why);
void log_fd_store_variable_malformed(const std::string& why);

}  // namespace echod
