// The episode lines (daemon/limit_episode.hpp): a limit reached, then cleared, with what
// it cost in between; and the UDP child's lines. The other lines are in log_events.cpp,
// whose header declares them all.
#include "common/child_report.hpp"
#include "daemon/log.hpp"
#include "daemon/log_events.hpp"
#include "daemon/log_fields.hpp"

#include <sys/wait.h>

#include <cstring>

namespace echod {
namespace {

// The start and the end of a limit episode (daemon/limit_episode.hpp): msg="limit reached"
// limit=NAME ..., and msg="limit cleared" limit=NAME ... duration_ms=N.
LogLine limit_reached(const char* limit)
{
    return std::move(LogLine("limit reached").add("limit", limit));
}

void log_limit_cleared(LogLine& line, long long duration_ms)
{
    log_message(LogLevel::notice, line.add("duration_ms", duration_ms));
}

LogLine limit_cleared(const char* limit)
{
    return std::move(LogLine("limit cleared").add("limit", limit));
}

// limit=max_per_source max_per_source=N source=ADDR, and the same for max_per_network
// (network=NET/LEN) and rate_per_source.
LogLine client_limit(const char* msg, ClientLimitKind kind, unsigned limit,
                     const std::string& name)
{
    const char* key = kind == ClientLimitKind::source    ? "max_per_source"
                      : kind == ClientLimitKind::network ? "max_per_network"
                                                         : "rate_per_source";
    LogLine line(msg);
    line.add("limit", key).add(key, limit);
    return std::move(line.add(kind == ClientLimitKind::network ? "network" : "source", name));
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

}  // namespace

void log_spare_exited(pid_t pid, int wait_status)
{
    LogLine line("spare child exited; forking paused");
    line.add("pid", pid);
    add_unreported_end(line, wait_status);
    log_message(LogLevel::warning, line);
}

void log_spare_limit_cleared(std::uint64_t deaths, long long duration_ms)
{
    log_limit_cleared(limit_cleared("spare_exits").add("exited", deaths), duration_ms);
}

void log_children_limit_reached(unsigned max_children)
{
    log_message(LogLevel::notice, limit_reached("max_children")
                               .add("max_children", max_children)
                               .add("effect", "new clients wait in the listen backlog"));
}

void log_children_limit_cleared(unsigned max_children, long long duration_ms)
{
    log_limit_cleared(limit_cleared("max_children").add("max_children", max_children),
                      duration_ms);
}

void log_client_limit_reached(ClientLimitKind kind, unsigned limit, const std::string& name)
{
    log_message(LogLevel::notice, client_limit("limit reached", kind, limit, name)
                               .add("effect", "further connections from it are closed"));
}

void log_client_limit_cleared(ClientLimitKind kind, unsigned limit, const std::string& name,
                              std::uint64_t refused, long long duration_ms)
{
    log_limit_cleared(client_limit("limit cleared", kind, limit, name).add("refused", refused),
                      duration_ms);
}

void log_refusals_began(Refusal refusal, const Endpoint& client, const char* why)
{
    LogLine line = limit_reached(refusal_rule(refusal));
    line.add("peer", format_source(client));
    add_why(line, why);
    log_message(LogLevel::notice, line.add("effect", "further refusals are counted, not logged"));
}

void log_refusals_ended(Refusal refusal, std::uint64_t refused, long long duration_ms)
{
    log_limit_cleared(limit_cleared(refusal_rule(refusal)).add("refused", refused), duration_ms);
}

void log_fork_limit_reached(int error, const char* consequence)
{
    log_message(LogLevel::warning, limit_reached("fork")
                                .add("error", std::strerror(error))
                                .add("effect", consequence));
}

void log_fork_limit_cleared(std::uint64_t failures, long long duration_ms)
{
    log_limit_cleared(limit_cleared("fork").add("failed", failures), duration_ms);
}

void log_accept_limit_reached(int error)
{
    log_message(LogLevel::warning, limit_reached("accept4")
                                .add("error", std::strerror(error))
                                .add("effect", "accepting paused"));
}

void log_child_accept_limit_reached(int error)
{
    log_message(LogLevel::warning, limit_reached("accept4")
                                .add("error", std::strerror(error))
                                .add("in", "child")
                                .add("effect", "forking paused"));
}

void log_accept_limit_cleared(std::uint64_t failures, long long duration_ms)
{
    log_limit_cleared(limit_cleared("accept4").add("failed", failures), duration_ms);
}

namespace {

// guard=N denied=N rate=N truncated=N unsent=N, in UdpDrop's order.
LogLine& add_udp_drops(LogLine& line, const UdpCounts& counts)
{
    static const char* const names[udp_drop_count] = {"guard", "denied", "rate", "truncated",
                                                      "unsent"};
    for (std::size_t i = 0; i < udp_drop_count; ++i) {
        line.add(names[i], counts.dropped[i]);
    }
    return line;
}

}  // namespace

void log_udp_child_exited(pid_t pid, int wait_status)
{
    LogLine line("udp child exited; forking another after a pause");
    line.add("pid", pid);
    // Exit 0: it read a stop signal that someone sent it alone.
    if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == child_reported) {
        line.add("reason", "stopped");
    } else {
        add_unreported_end(line, wait_status);
    }
    log_message(LogLevel::warning, line);
}

void log_udp_fork_failed(int error)
{
    log_message(LogLevel::warning, LogLine("udp child fork failed; forking another after a pause")
                                .add("error", std::strerror(error)));
}

void log_udp_down_cleared(std::uint64_t times, long long duration_ms)
{
    log_limit_cleared(limit_cleared("udp_child").add("down", times), duration_ms);
}

void log_udp_drops_reached(const UdpCounts& first)
{
    LogLine line = limit_reached("udp_drops");
    add_udp_drops(line, first);
    log_message(LogLevel::notice,
         line.add("effect", "further drops are summed up when they stop"));
}

void log_udp_drops_cleared(const UdpCounts& dropped, long long duration_ms)
{
    LogLine line = limit_cleared("udp_drops");
    line.add("dropped", dropped.dropped_total());
    log_limit_cleared(add_udp_drops(line, dropped), duration_ms);
}

void log_udp_sockets_unused(const std::string& sockets)
{
    log_message(LogLevel::notice, LogLine("socket activation: UDP sockets not served")
                               .add("udp", "off")
                               .add("sockets", sockets));
}

void log_udp_no_socket_from_unit()
{
    log_message(LogLevel::notice, LogLine("socket activation: the socket unit passes no UDP socket")
                               .add("udp", "on")
                               .add("served", "no"));
}

}  // namespace echod
