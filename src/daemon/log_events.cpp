#include "daemon/log_events.hpp"

#include "common/child_report.hpp"
#include "daemon/child_table.hpp"
#include "daemon/connection_lines.hpp"
#include "daemon/log.hpp"
#include "daemon/log_fields.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace echod {
namespace {

LogLine listening_line(const char* msg, const ListeningState& state)
{
    const Config& config = state.config;
    LogLine line(msg);
    line.add("listening", state.listening)
        .add("port", state.port)
        .add("backlog", state.backlog ? std::to_string(*state.backlog) : "socket-unit")
        .add("max_children", config.max_children)
        .add("max_per_source", config.max_per_source)
        .add("max_per_network", config.max_per_network)
        .add("mode", mode_name(config.mode));
    if (config.proxy_protocol != ProxyProtocol::off) {
        line.add("proxy_protocol", proxy_protocol_name(config.proxy_protocol));
    }
    if (!state.udp.empty()) {
        line.add("udp", state.udp);
    }
    return std::move(line.add("pid", ::getpid()));
}

// peer=CLIENT, and via=BALANCER when a PROXY header named the client.
void add_client(LogLine& line, const Endpoint& client, const Endpoint* via)
{
    line.add("peer", format_endpoint(client));
    if (via != nullptr) {
        line.add("via", format_endpoint(*via));
    }
}

// "needs=N for max_children=M + the master + the UDP child"
// needs= max_children= [udp_child=yes]: what the processes count is made of.
LogLine& add_processes_needed(LogLine& line, std::uint64_t needed, unsigned max_children,
                              bool udp_child)
{
    line.add("needs", needed).add("max_children", max_children);
    if (udp_child) {
        line.add("udp_child", "yes");
    }
    return line;
}

constexpr const char* fork_fails = "limit too low; forks past it fail and drop their clients";

// "systemctl edit echod: [Service] TasksMax=N or more"
std::string unit_fix(const char* setting, std::uint64_t needed)
{
    return std::string("systemctl edit echod: [Service] ") + setting + "=" + std::to_string(needed) +
           " or more";
}

}  // namespace

// reason=killed signal=N, or reason=failed exit=N: a child that ended without its report.
void add_unreported_end(LogLine& line, int wait_status)
{
    if (WIFSIGNALED(wait_status)) {
        line.add("reason", "killed").add("signal", WTERMSIG(wait_status));
    } else {
        line.add("reason", "failed").add("exit", WEXITSTATUS(wait_status));
    }
}

void add_why(LogLine& line, const char* why)
{
    if (*why != '\0') {
        line.add("why", why);
    }
}

void log_ready(const ListeningState& state)
{
    log_message(LogLevel::notice, listening_line("ready", state));
}

void log_reloaded(const ListeningState& state)
{
    log_message(LogLevel::notice, listening_line("reloaded", state));
}

void log_socket_activation(const std::string& listening, const std::string& config_path)
{
    log_message(LogLevel::notice, LogLine("socket activation")
                               .add("listening", listening)
                               .add("config", config_path)
                               .add("unused_keys", "address,port,backlog"));
}

void log_reload_socket_keys_unused(const std::string& config_path)
{
    log_message(LogLevel::notice, LogLine("reload: the listening sockets come from the socket unit")
                               .add("config", config_path)
                               .add("unused_keys", "address,port,backlog"));
}

void log_reload_fixed_keys_unchanged()
{
    log_message(LogLevel::warning, LogLine("reload: keys take effect at the next start")
                                .add("keys", "user,group,pid_file"));
}

void log_reload_failed(const std::string& why)
{
    log_message(LogLevel::error,
         LogLine("reload failed; keeping the running configuration").add("error", why));
}

void log_reload_ignored_stopping()
{
    log_message(LogLevel::notice, LogLine("reload ignored").add("why", "stopping"));
}

void log_stopping(const char* signal_name, std::size_t active,
                  std::optional<std::chrono::milliseconds> drain)
{
    LogLine line("stopping");
    line.add("signal", signal_name).add("active", active);
    if (drain) {
        line.add("shutdown_timeout", format_duration(*drain));
    } else {
        line.add("closing", "now");
    }
    log_message(LogLevel::notice, line);
}

void log_shutdown_timeout_reached(std::size_t active)
{
    log_message(LogLevel::notice, LogLine("shutdown_timeout reached; closing").add("active", active));
}

void log_sending_sigkill(std::size_t children)
{
    log_message(LogLevel::warning, LogLine("children still running after SIGINT; sending SIGKILL")
                                .add("children", children));
}

void log_stopped(std::uint64_t served)
{
    log_message(LogLevel::notice, LogLine("stopped").add("served", served));
}

void log_status(const std::string& counters, const std::string& listening)
{
    log_message(LogLevel::notice, LogLine("status").fields(counters).add("listening", listening));
}

void log_ipv6_missing(const std::string& why)
{
    log_message(LogLevel::notice,
         LogLine("IPv6 is not available; listening on IPv4 only").add("error", why));
}

void log_backlog_clamped(int backlog, int effective)
{
    log_message(LogLevel::warning, LogLine("backlog clamped by net.core.somaxconn")
                                .add("backlog", backlog)
                                .add("effective", effective));
}

void log_backlog_below_max_children(int backlog, unsigned max_children)
{
    // The kernel queues backlog + 1 clients beyond max_children at most.
    log_message(LogLevel::notice, LogLine("backlog below max_children; a longer burst may be refused")
                               .add("backlog", backlog)
                               .add("max_children", max_children)
                               .add("queued_at_most", backlog + 1));
}

void log_user_ignored_not_root(const std::string& user)
{
    log_message(LogLevel::warning,
         LogLine("user ignored: echod was not started as root").add("user", user));
}

void log_pids_limit_low(std::uint64_t limit, const std::string& cgroup, std::uint64_t needed,
                        unsigned max_children, bool udp_child)
{
    LogLine line(fork_fails);
    line.add("limit", "pids.max").add("pids_max", limit).add("cgroup", cgroup);
    add_processes_needed(line, needed, max_children, udp_child)
        .add("fix", unit_fix("TasksMax", needed) + ", or lower max_children");
    log_message(LogLevel::warning, line);
}

void log_nproc_limit_low(std::uint64_t limit, uid_t uid, std::uint64_t needed,
                         unsigned max_children, bool udp_child)
{
    // RLIMIT_NPROC counts every process of the uid, not only echod's.
    LogLine line(fork_fails);
    line.add("limit", "RLIMIT_NPROC").add("RLIMIT_NPROC", limit).add("uid", uid);
    add_processes_needed(line, needed, max_children, udp_child)
        .add("fix", unit_fix("LimitNPROC", needed) + ", or lower max_children");
    log_message(LogLevel::warning, line);
}

void log_nofile_limit_low(std::uint64_t limit, std::uint64_t needed, std::size_t sockets)
{
    // Each socket twice: a reload opens the new ones before it closes the old.
    log_message(LogLevel::warning,
                LogLine("limit too low; past it accept fails and accepting pauses")
                    .add("limit", "RLIMIT_NOFILE")
                    .add("RLIMIT_NOFILE", limit)
                    .add("needs", needed)
                    .add("sockets", sockets)
                    .add("own", needed - 2 * sockets)
                    .add("fix", unit_fix("LimitNOFILE", needed)));
}

void log_privileges_dropped(const std::string& user, uid_t uid, gid_t gid)
{
    log_message(LogLevel::info,
         LogLine("dropped privileges").add("user", user).add("uid", uid).add("gid", gid));
}

void log_config_error(const std::string& why)
{
    log_message(LogLevel::error, LogLine("config error").add("error", why));
}

void log_cannot_start(const std::string& why)
{
    log_message(LogLevel::error, LogLine("cannot start").add("error", why));
}

void log_fatal(const std::string& why)
{
    log_message(LogLevel::error, LogLine("fatal").add("error", why));
}

void log_notify_failed(const std::string& why)
{
    log_message(LogLevel::debug, LogLine("notify failed").add("error", why));
}

void log_connection_accepted(const Endpoint& client, const Endpoint* via, bool local, pid_t pid)
{
    if (!log_enabled(LogLevel::debug)) {
        return;
    }
    LogLine line("connection accepted");
    add_client(line, client, via);
    line.add("pid", pid);
    if (local) {
        line.add("local", "yes");
    }
    log_message(LogLevel::debug, line);
}

LogLevel connection_closed_level(const Child& child, const ChildReport* report)
{
    if (report == nullptr || report->close_reason() == CloseReason::error) {
        return LogLevel::warning;
    }
    // A balancer's health checks come every few seconds for ever: not worth a line at info.
    return child.local ? LogLevel::debug : LogLevel::info;
}

void log_connection_closed(const Child& child, pid_t pid, const ConnectionEnd& end,
                           std::chrono::milliseconds duration)
{
    const ChildReport* report = end.report;
    const LogLevel level = connection_closed_level(child, report);
    if (!log_enabled(level)) {
        return;
    }
    LogLine line("connection closed");
    add_client(line, child.peer, child.via ? &*child.via : nullptr);
    line.add("pid", pid);
    if (child.local) {
        line.add("local", "yes");
    }
    if (report != nullptr) {
        line.add("bytes_in", report->bytes_in).add("bytes_out", report->bytes_out);
    } else {
        line.add("bytes_in", "-").add("bytes_out", "-");
    }
    line.add("duration_ms", duration.count());
    if (report == nullptr) {
        add_unreported_end(line, end.wait_status);
    } else {
        line.add("reason", close_reason_name(report->close_reason()));
        if (report->error != 0) {
            line.add("error", std::strerror(report->error));
        }
    }
    log_message(level, line);
}

void log_connection_lines_paused(unsigned rate, unsigned threshold, std::chrono::seconds every)
{
    log_message(LogLevel::notice, LogLine("per-connection lines paused")
                               .add("rate", std::to_string(rate) + "/s")
                               .add("threshold", std::to_string(threshold) + "/s")
                               .add("summary_every", std::to_string(every.count()) + "s"));
}

void log_connection_summary(const ConnectionWindow& window, long long window_ms)
{
    LogLine line("connections summary");
    line.add("window_ms", window_ms).add("closed", window.closed);
    for (CloseReason reason : close_reasons) {
        if (reason != CloseReason::error) {  // a warning each, never summarised
            line.add(close_reason_name(reason),
                     window.tally.of(reason));
        }
    }
    line.add("bytes_in", window.tally.bytes_in)
        .add("bytes_out", window.tally.bytes_out)
        .add("sources", window.sources.size());
    int rank = 0;
    for (const ConnectionWindow::Source* source : window.busiest()) {
        if (source != nullptr) {
            const std::string top = "top" + std::to_string(++rank);
            line.add(top, format_source(source->first)).add(top + "_closed", source->closed);
        }
    }
    log_message(LogLevel::info, line);
}

void log_connection_lines_resumed(unsigned rate, std::uint64_t summarised, long long paused_ms)
{
    log_message(LogLevel::notice, LogLine("per-connection lines resumed")
                               .add("rate", std::to_string(rate) + "/s")
                               .add("summarised", summarised)
                               .add("paused_ms", paused_ms));
}

void log_connection_refused(const Endpoint& client, const Endpoint* via, Refusal refusal,
                            const char* why)
{
    if (!log_enabled(LogLevel::debug)) {
        return;
    }
    LogLine line("connection refused");
    add_client(line, client, via);
    line.add("reason", refusal_name(refusal));
    add_why(line, why);
    log_message(LogLevel::debug, line);
}

void log_reload_request_rejected(pid_t pid)
{
    log_message(LogLevel::error,
         LogLine("reload rejected; the daemon keeps its running settings, its log says why")
             .add("pid", pid));
}

void log_reload_request_stopping(pid_t pid)
{
    log_message(LogLevel::error,
         LogLine("reload not done: the daemon is stopping").add("pid", pid));
}

void log_reload_request_unanswered(pid_t pid, std::chrono::milliseconds waited)
{
    log_message(LogLevel::error, LogLine("reload unanswered")
                              .add("pid", pid)
                              .add("waited", format_duration(waited)));
}

void log_reload_request_failed(const std::string& why)
{
    log_message(LogLevel::error, LogLine("reload request failed").add("error", why));
}

void log_metrics_write_failed(const std::string& path, const char* call, int error,
                              std::chrono::seconds retry)
{
    log_message(LogLevel::warning, LogLine("metrics file not written; retrying, logged again once written")
                                       .add("path", path)
                                       .add("call", call)
                                       .add("error", std::strerror(error))
                                       .add("retry", format_duration(retry)));
}

void log_metrics_written_again(const std::string& path, std::uint64_t failures,
                               long long duration_ms)
{
    log_message(LogLevel::notice, LogLine("metrics file written again")
                                      .add("path", path)
                                      .add("failed", failures)
                                      .add("duration_ms", duration_ms));
}

void log_fd_store_taken(const std::string& listening, const std::string& udp)
{
    LogLine line("listeners from the fd store");
    if (!listening.empty()) {
        line.add("listening", listening);
    }
    if (!udp.empty()) {
        line.add("udp", udp);
    }
    log_message(LogLevel::notice, line);
}

void log_fd_store_changed(const char* what, const std::string& sockets)
{
    log_message(LogLevel::info, LogLine(std::string("fd store: ") + what).fields(sockets));
}

void log_fd_store_unusable(const std::string& name, const std::string& why)
{
    log_message(LogLevel::warning,
                LogLine("fd store: unusable descriptor; removing it from the store")
                    .add("name", name)
                    .add("error", why));
}

void log_fd_store_variable_malformed(const std::string& why)
{
    log_message(LogLevel::notice,
                LogLine("fd store: not used; FDSTORE is malformed").add("error", why));
}

void log_fd_store_failed(const std::string& name, const std::string& why)
{
    log_message(LogLevel::warning,
                LogLine("fd store: cannot store a listener; a restart will refuse clients on it")
                    .add("name", name)
                    .add("error", why));
}

}  // namespace echod
