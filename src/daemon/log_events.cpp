#include "daemon/log_events.hpp"

#include "common/child_report.hpp"
#include "daemon/child_table.hpp"
#include "daemon/log.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace echod {
namespace {

using std::to_string;

std::string describe(int error)
{
    return std::strerror(error);
}

void log_listening(const char* what, const ListeningState& state)
{
    const Config& config = state.config;
    log_notice(std::string(what) + " listening=" + state.listening +
               " port=" + to_string(state.port) +
               " backlog=" + (state.backlog ? to_string(*state.backlog) : "socket-unit") +
               " max_children=" + to_string(config.max_children) +
               " max_per_source=" + to_string(config.max_per_source) +
               " max_per_network=" + to_string(config.max_per_network) +
               " mode=" + mode_name(config.mode) +
               (config.proxy_protocol == ProxyProtocol::off
                    ? ""
                    : std::string(" proxy_protocol=") + proxy_protocol_name(config.proxy_protocol)) +
               (state.udp.empty() ? "" : " udp=" + state.udp) + " pid=" + to_string(::getpid()));
}

// "limit reached: WHAT": the start of a limit episode.
void log_limit_reached(LogLevel level, const std::string& what)
{
    log_message(level, "limit reached: " + what);
}

// "limit cleared: WHAT duration_ms=N": the end of a limit episode.
void log_limit_cleared(const std::string& what, long long duration_ms)
{
    log_notice("limit cleared: " + what + " duration_ms=" + to_string(duration_ms));
}

// "max_per_source=N source=ADDR" or "max_per_network=N network=NET/LEN".
std::string client_limit(ClientLimitKind kind, unsigned limit, const std::string& name)
{
    switch (kind) {
    case ClientLimitKind::source: return "max_per_source=" + to_string(limit) + " source=" + name;
    case ClientLimitKind::network:
        return "max_per_network=" + to_string(limit) + " network=" + name;
    case ClientLimitKind::rate: return "rate_per_source=" + to_string(limit) + " source=" + name;
    }
    return name;
}

// "peer=CLIENT" or "peer=CLIENT via=BALANCER".
std::string client_fields(const Endpoint& client, const Endpoint* via)
{
    return "peer=" + format_endpoint(client) +
           (via != nullptr ? " via=" + format_endpoint(*via) : std::string());
}

// What the episode lines of a refusal that is not a client's limit call it.
const char* refusal_rule(Refusal refusal)
{
    switch (refusal) {
    case Refusal::denied: return "allow/deny";
    case Refusal::untrusted: return "proxy_trusted";
    case Refusal::bad_header: return "proxy_header";
    default: return refusal_name(refusal);
    }
}

// " reason=killed signal=N" or " reason=failed exit=N": a child that ended without its
// report.
std::string unreported_end(int wait_status)
{
    return WIFSIGNALED(wait_status) ? " reason=killed signal=" + to_string(WTERMSIG(wait_status))
                                    : " reason=failed exit=" + to_string(WEXITSTATUS(wait_status));
}

// "needs=N for max_children=M + the master + the UDP child"
std::string processes_needed(std::uint64_t needed, unsigned max_children, bool udp_child)
{
    return "needs=" + to_string(needed) + " for max_children=" + to_string(max_children) +
           " + the master" + (udp_child ? " + the UDP child" : "");
}

constexpr const char* fork_fails = "; forks past it fail and drop their clients; ";

// "; systemctl edit echod: [Service] TasksMax=N or more"
std::string unit_fix(const char* setting, std::uint64_t needed)
{
    return std::string("systemctl edit echod: [Service] ") + setting + "=" + to_string(needed) +
           " or more";
}

}  // namespace

void log_ready(const ListeningState& state)
{
    log_listening("ready", state);
}

void log_reloaded(const ListeningState& state)
{
    log_listening("reloaded", state);
}

void log_socket_activation(const std::string& listening, const std::string& config_path)
{
    log_notice("socket activation: listening=" + listening +
               " from the socket unit; its port and backlog are used, and address, port and"
               " backlog in " + config_path + " are not");
}

void log_reload_socket_keys_unused(const std::string& config_path)
{
    log_notice("reload: address, port and backlog come from the socket unit; the values in " +
               config_path + " are not used");
}

void log_reload_fixed_keys_unchanged()
{
    log_warning("reload: user, group and pid_file take effect at the next start");
}

void log_reload_failed(const std::string& why)
{
    log_error("reload failed: " + why + "; keeping the running configuration");
}

void log_reload_ignored_stopping()
{
    log_notice("reload ignored: stopping");
}

void log_stopping(const char* signal_name, std::size_t active,
                  std::optional<std::chrono::milliseconds> drain)
{
    log_notice(std::string("stopping signal=") + signal_name + " active=" + to_string(active) +
               (drain ? " shutdown_timeout=" + format_duration(*drain) : " closing now"));
}

void log_shutdown_timeout_reached(std::size_t active)
{
    log_notice("shutdown_timeout reached: closing active=" + to_string(active));
}

void log_sending_sigkill(std::size_t children)
{
    log_warning("children still running after SIGINT: sending SIGKILL to " + to_string(children));
}

void log_stopped(std::uint64_t served)
{
    log_notice("stopped served=" + to_string(served));
}

void log_status(const std::string& counters, const std::string& listening)
{
    log_notice("status " + counters + " listening=" + listening);
}

void log_ipv6_missing(const std::string& why)
{
    log_notice("IPv6 is not available on this host (" + why + "); listening on IPv4 only");
}

void log_backlog_clamped(int backlog, int effective)
{
    log_warning("backlog=" + to_string(backlog) +
                " exceeds net.core.somaxconn; the kernel clamps it to " + to_string(effective));
}

void log_backlog_below_max_children(int backlog, unsigned max_children)
{
    log_notice("backlog=" + to_string(backlog) + " is below max_children=" +
               to_string(max_children) + "; a burst of more than " + to_string(backlog + 1) +
               " clients beyond max_children may be refused by the kernel");
}

void log_user_ignored_not_root(const std::string& user)
{
    log_warning("user=" + user + " ignored: echod was not started as root");
}

void log_pids_limit_low(std::uint64_t limit, const std::string& cgroup, std::uint64_t needed,
                        unsigned max_children, bool udp_child)
{
    log_warning("limit too low: cgroup pids.max=" + to_string(limit) + " cgroup=" + cgroup +
                " " + processes_needed(needed, max_children, udp_child) + fork_fails +
                unit_fix("TasksMax", needed) + ", or lower max_children");
}

void log_nproc_limit_low(std::uint64_t limit, uid_t uid, std::uint64_t needed,
                         unsigned max_children, bool udp_child)
{
    log_warning("limit too low: RLIMIT_NPROC=" + to_string(limit) + " uid=" + to_string(uid) +
                " " + processes_needed(needed, max_children, udp_child) +
                ", and it counts every process of that uid" + fork_fails +
                unit_fix("LimitNPROC", needed) + ", or lower max_children");
}

void log_nofile_limit_low(std::uint64_t limit, std::uint64_t needed, std::size_t sockets)
{
    log_warning("limit too low: RLIMIT_NOFILE=" + to_string(limit) + " needs=" +
                to_string(needed) + " for sockets=" + to_string(sockets) +
                " (twice: a reload opens the new ones first) + the master's own " +
                to_string(needed - 2 * sockets) +
                "; past it accept fails and accepting pauses; " +
                unit_fix("LimitNOFILE", needed));
}

void log_privileges_dropped(const std::string& user, uid_t uid, gid_t gid)
{
    log_info("dropped privileges user=" + user + " uid=" + to_string(uid) +
             " gid=" + to_string(gid));
}

void log_config_error(const std::string& why)
{
    log_error("config error: " + why);
}

void log_cannot_start(const std::string& why)
{
    log_error("cannot start: " + why);
}

void log_fatal(const std::string& why)
{
    log_error("fatal: " + why);
}

void log_notify_failed(const std::string& why)
{
    log_debug("notify failed: " + why);
}

void log_connection_accepted(const Endpoint& client, const Endpoint* via, bool local, pid_t pid)
{
    if (log_enabled(LogLevel::debug)) {
        log_debug("connection accepted " + client_fields(client, via) + " pid=" + to_string(pid) +
                  (local ? " local=yes" : ""));
    }
}

void log_connection_closed(const Child& child, pid_t pid, const ConnectionEnd& end,
                           std::chrono::milliseconds duration)
{
    const ChildReport* report = end.report;
    const bool failed = report == nullptr || report->close_reason() == CloseReason::error;
    // A balancer's health checks come every few seconds for ever: not worth a line at info.
    const LogLevel level = failed ? LogLevel::warning
                           : child.local ? LogLevel::debug
                                         : LogLevel::info;
    if (!log_enabled(level)) {
        return;
    }
    std::string line = "connection closed " +
                       client_fields(child.peer, child.via ? &*child.via : nullptr) +
                       " pid=" + to_string(pid) + (child.local ? " local=yes" : "");
    line += report != nullptr ? " bytes_in=" + to_string(report->bytes_in) +
                                    " bytes_out=" + to_string(report->bytes_out)
                              : std::string(" bytes_in=- bytes_out=-");
    line += " duration_ms=" + to_string(duration.count());
    if (report == nullptr) {
        line += unreported_end(end.wait_status);
    } else {
        line += std::string(" reason=") + close_reason_name(report->close_reason());
        if (report->error != 0) {
            line += " error=\"" + describe(report->error) + "\"";
        }
    }
    log_message(level, line);
}

void log_connection_refused(const Endpoint& client, const Endpoint* via, Refusal refusal,
                            const char* why)
{
    if (log_enabled(LogLevel::debug)) {
        log_debug("connection refused " + client_fields(client, via) + " reason=" +
                  refusal_name(refusal) + (*why != '\0' ? " why=\"" + std::string(why) + "\"" : ""));
    }
}

void log_spare_exited(pid_t pid, int wait_status)
{
    log_warning("spare child exited pid=" + to_string(pid) + unreported_end(wait_status) +
                "; forking paused");
}

void log_spare_limit_cleared(std::uint64_t deaths, long long duration_ms)
{
    log_limit_cleared("spare child exited=" + to_string(deaths), duration_ms);
}

void log_children_limit_reached(unsigned max_children)
{
    log_limit_reached(LogLevel::notice, "max_children=" + to_string(max_children) +
                                            "; new clients wait in the listen backlog");
}

void log_children_limit_cleared(unsigned max_children, long long duration_ms)
{
    log_limit_cleared("max_children=" + to_string(max_children), duration_ms);
}

void log_client_limit_reached(ClientLimitKind kind, unsigned limit, const std::string& name)
{
    log_limit_reached(LogLevel::notice,
                      client_limit(kind, limit, name) + "; further connections from it are closed");
}

void log_client_limit_cleared(ClientLimitKind kind, unsigned limit, const std::string& name,
                              std::uint64_t refused, long long duration_ms)
{
    log_limit_cleared(client_limit(kind, limit, name) + " refused=" + to_string(refused),
                      duration_ms);
}

void log_refusals_began(Refusal refusal, const Endpoint& client, const char* why)
{
    log_limit_reached(LogLevel::notice,
                      std::string(refusal_rule(refusal)) + " refused peer=" + format_source(client) +
                          (*why != '\0' ? " why=\"" + std::string(why) + "\"" : "") +
                          "; further refusals are counted, not logged");
}

void log_refusals_ended(Refusal refusal, std::uint64_t refused, long long duration_ms)
{
    log_limit_cleared(std::string(refusal_rule(refusal)) + " refused=" + to_string(refused),
                      duration_ms);
}

void log_fork_limit_reached(int error, const char* consequence)
{
    log_limit_reached(LogLevel::warning, "fork failed (" + describe(error) + "); " + consequence);
}

void log_fork_limit_cleared(std::uint64_t failures, long long duration_ms)
{
    log_limit_cleared("fork failed=" + to_string(failures) + " clients dropped", duration_ms);
}

void log_accept_limit_reached(int error)
{
    log_limit_reached(LogLevel::warning,
                      "accept4 failed (" + describe(error) + "); accepting paused");
}

void log_child_accept_limit_reached(int error)
{
    log_limit_reached(LogLevel::warning,
                      "accept4 failed in a child (" + describe(error) + "); forking paused");
}

void log_accept_limit_cleared(std::uint64_t failures, long long duration_ms)
{
    log_limit_cleared("accept4 failed=" + to_string(failures), duration_ms);
}

void log_reload_request_rejected(pid_t pid)
{
    log_error("reload: pid " + to_string(pid) +
              " rejected the new settings and keeps its running ones; its log says why");
}

void log_reload_request_stopping(pid_t pid)
{
    log_error("reload: pid " + to_string(pid) + " is stopping; nothing was reloaded");
}

void log_reload_request_unanswered(pid_t pid, std::chrono::milliseconds waited)
{
    log_error("reload: pid " + to_string(pid) + " did not answer within " +
              format_duration(waited));
}

void log_reload_request_failed(const std::string& why)
{
    log_error("reload: " + why);
}

namespace {

// " guard=N denied=N rate=N truncated=N unsent=N", in UdpDrop's order.
std::string udp_drops(const UdpCounts& counts)
{
    static const char* const names[udp_drop_count] = {"guard", "denied", "rate", "truncated",
                                                      "unsent"};
    std::string text;
    for (std::size_t i = 0; i < udp_drop_count; ++i) {
        text += std::string(" ") + names[i] + "=" + to_string(counts.dropped[i]);
    }
    return text;
}

}  // namespace

void log_udp_child_exited(pid_t pid, int wait_status)
{
    // Exit 0: it read a stop signal that someone sent it alone.
    const bool stopped = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == child_reported;
    log_warning("udp child exited pid=" + to_string(pid) +
                (stopped ? std::string(" reason=stopped") : unreported_end(wait_status)) +
                "; forking another after a pause");
}

void log_udp_fork_failed(int error)
{
    log_warning("udp child: fork failed (" + describe(error) + "); forking another after a pause");
}

void log_udp_down_cleared(std::uint64_t times, long long duration_ms)
{
    log_limit_cleared("udp child down=" + to_string(times), duration_ms);
}

void log_udp_drops_reached(const UdpCounts& first)
{
    log_limit_reached(LogLevel::notice, "udp dropping datagrams" + udp_drops(first) +
                                            "; further drops are summed up when they stop");
}

void log_udp_drops_cleared(const UdpCounts& dropped, long long duration_ms)
{
    log_limit_cleared("udp dropped=" + to_string(dropped.dropped_total()) + udp_drops(dropped),
                      duration_ms);
}

void log_udp_sockets_unused(const std::string& sockets)
{
    log_notice("socket activation: udp=off; the UDP sockets " + sockets +
               " from the socket unit are not served");
}

void log_udp_no_socket_from_unit()
{
    log_notice("socket activation: udp=on, but the socket unit passes no UDP socket "
               "(ListenDatagram=); UDP is not served");
}

}  // namespace echod
