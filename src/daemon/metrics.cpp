#include "daemon/metrics.hpp"

#include <charconv>
#include <cstring>

#ifndef ECHOD_VERSION
#define ECHOD_VERSION "unknown"
#endif

namespace echod {
namespace {

// Writes one metric family after another into `out`. Names and help texts are the
// literals below; only a label value could need escaping (the version is a build setting).
class Exposition {
public:
    explicit Exposition(MetricsText& out) : out_(out) {}

    // `# HELP` and `# TYPE`: before the family's samples, once.
    void family(const char* name, const char* type, const char* help)
    {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }

    void sample(const char* name, std::uint64_t value)
    {
        out_ += name;
        number(value);
    }

    void sample(const char* name, const char* label, const char* label_value,
                std::uint64_t value)
    {
        out_ += name;
        out_ += '{';
        out_ += label;
        out_ += "=\"";
        for (const char* c = label_value; *c != '\0'; ++c) {
            if (*c == '\\' || *c == '"') {
                out_ += '\\';
                out_ += *c;
            } else if (*c == '\n') {
                out_ += "\\n";
            } else {
                out_ += *c;
            }
        }
        out_ += "\"}";
        number(value);
    }

    void gauge(const char* name, const char* help, std::uint64_t value)
    {
        family(name, "gauge", help);
        sample(name, value);
    }

    void counter(const char* name, const char* help, std::uint64_t value)
    {
        family(name, "counter", help);
        sample(name, value);
    }

private:
    // " VALUE\n"
    void number(std::uint64_t value)
    {
        char digits[24];
        const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
        out_ += ' ';
        out_.append(digits, static_cast<std::size_t>(end - digits));
        out_ += '\n';
    }

    MetricsText& out_;
};

void format_connections(Exposition& out, const MetricsState& state)
{
    const Counters& counters = state.counters;
    out.gauge("echod_connections_active", "Connections being served now.", state.active);
    out.gauge("echod_max_children", "The max_children setting: connections served at once, "
                                    "at most.",
              state.max_children);
    if (state.spares) {
        out.gauge("echod_spare_children",
                  "Prefork mode: idle children waiting for a connection.", *state.spares);
    }
    out.counter("echod_connections_served_total",
                "Connections that ended, however they ended (the sum of "
                "echod_connections_closed_total).",
                counters.served);
    out.family("echod_connections_closed_total", "counter",
               "Connections that ended, by reason: the reason= of the log's connection closed "
               "line; killed: the child ended without saying why (killed, or failed).");
    for (CloseReason reason : close_reasons) {
        out.sample("echod_connections_closed_total", "reason", close_reason_name(reason),
                   counters.closed.of(reason));
    }
    out.sample("echod_connections_closed_total", "reason", "killed", counters.killed);
    out.family("echod_connections_refused_total", "counter",
               "Connections closed before anything was echoed, by the setting that refused "
               "them (bad_header: no valid PROXY header in time).");
    for (std::size_t i = 1; i < refusal_count; ++i) {  // not Refusal::none
        out.sample("echod_connections_refused_total", "reason",
                   refusal_name(static_cast<Refusal>(i)), counters.refused_by[i]);
    }
    out.counter("echod_bytes_received_total",
                "Bytes received from TCP clients, counted when their connection ends.",
                counters.closed.bytes_in);
    out.counter("echod_bytes_sent_total",
                "Bytes echoed to TCP clients, counted when their connection ends.",
                counters.closed.bytes_out);
    out.counter("echod_fork_failures_total",
                "Forks that failed (fork mode: each drops one client).", counters.fork_failed);
}

void format_udp(Exposition& out, const UdpCounts& udp)
{
    out.counter("echod_udp_datagrams_echoed_total", "UDP datagrams answered.", udp.echoed);
    out.counter("echod_udp_bytes_echoed_total",
                "Bytes of the UDP datagrams answered (each reply carries the bytes received).",
                udp.bytes);
    out.family("echod_udp_datagrams_dropped_total", "counter",
               "UDP datagrams left unanswered, by reason: guard (reflection guard), denied "
               "(allow/deny), rate (udp_rate_per_source), truncated (too large), unsent.");
    for (std::size_t i = 0; i < udp_drop_count; ++i) {
        out.sample("echod_udp_datagrams_dropped_total", "reason", udp_drop_names[i],
                   udp.dropped[i]);
    }
}

}  // namespace

void format_metrics(const MetricsState& state, MetricsText& out)
{
    out.clear();
    Exposition exposition(out);
    exposition.gauge("echod_up",
                     "1 while the echod that writes this file runs; 0 in its last write, when "
                     "it stopped or a reload moved its metrics_file.",
                     state.up ? 1 : 0);
    exposition.family("echod_build_info", "gauge", "The echod version, as a label; always 1.");
    exposition.sample("echod_build_info", "version", ECHOD_VERSION, 1);
    exposition.gauge("echod_start_time_seconds",
                     "When the master started, in seconds since the Unix epoch.",
                     static_cast<std::uint64_t>(state.start_time));
    exposition.gauge("echod_config_last_reload_successful",
                     "0 if the last reload failed and the previous settings still run, else 1.",
                     state.last_reload_ok ? 1 : 0);
    format_connections(exposition, state);
    if (state.udp) {
        format_udp(exposition, state.counters.udp);
    }
}

}  // namespace echod
