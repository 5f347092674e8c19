#include "daemon/config_keys.hpp"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <utility>

namespace echod {
namespace {

using std::chrono::milliseconds;

template <auto member>
using MemberType = std::remove_reference_t<decltype(std::declval<Config&>().*member)>;

template <auto member>
void apply_integer(const Key& key, Config& config, const Source& source,
                   const std::vector<std::string>& values)
{
    config.*member = static_cast<MemberType<member>>(
        parse_integer(source, key.name, values.front(), key.low, key.high));
}

template <auto member>
std::vector<std::string> show_integer(const Config& config)
{
    return {std::to_string(config.*member)};
}

template <auto member, std::uint64_t low, std::uint64_t high>
constexpr Key integer_key(const char* name, const char* help,
                          const char* default_text = nullptr,
                          void (*derive)(Config&) = nullptr)
{
    static_assert(low <= high && high <= static_cast<std::uint64_t>(
                                             std::numeric_limits<MemberType<member>>::max()),
                  "the range must fit the member");
    return {name, help, nullptr, "N", &apply_integer<member>, &show_integer<member>,
            false, low, high, default_text, derive};
}

template <milliseconds Config::*member>
void apply_duration(const Key& key, Config& config, const Source& source,
                    const std::vector<std::string>& values)
{
    config.*member = parse_duration(source, key.name, values.front());
}

template <milliseconds Config::*member>
std::vector<std::string> show_duration(const Config& config)
{
    return {format_duration(config.*member)};
}

template <milliseconds Config::*member>
constexpr Key duration_key(const char* name, const char* help)
{
    return {name, help, "a duration", "DURATION", &apply_duration<member>,
            &show_duration<member>};
}

// An enum spelled by name: parse reads it (and names the key in its error), print writes it.
template <auto member, auto parse, auto print>
void apply_choice(const Key&, Config& config, const Source& source,
                  const std::vector<std::string>& values)
{
    config.*member = parse(source, values.front());
}

template <auto member, auto print>
std::vector<std::string> show_choice(const Config& config)
{
    return {print(config.*member)};
}

template <auto member, auto parse, auto print>
constexpr Key choice_key(const char* name, const char* help, const char* accepted,
                         const char* value_name)
{
    return {name, help, accepted, value_name, &apply_choice<member, parse, print>,
            &show_choice<member, print>};
}

// Free text, empty for none; an account must exist on this system.
template <std::string Config::*member, bool is_account>
void apply_text(const Key& key, Config& config, const Source& source,
                const std::vector<std::string>& values)
{
    if constexpr (is_account) {
        check_account(source, key.name, values.front());
    }
    config.*member = values.front();
}

template <std::string Config::*member>
std::vector<std::string> show_text(const Config& config)
{
    return {config.*member};
}

template <std::string Config::*member, bool is_account = false>
constexpr Key text_key(const char* name, const char* help, const char* accepted,
                       const char* value_name)
{
    return {name, help, accepted, value_name, &apply_text<member, is_account>,
            &show_text<member>};
}

template <std::string Config::*member>
void apply_file_path(const Key& key, Config& config, const Source& source,
                     const std::vector<std::string>& values)
{
    check_file_path(source, key.name, values.front());
    config.*member = values.front();
}

void apply_addresses(const Key&, Config& config, const Source& source,
                     const std::vector<std::string>& values)
{
    config.addresses = parse_addresses(source, values);
    config.default_addresses = false;
}

std::vector<std::string> show_addresses(const Config& config)
{
    return config.addresses;
}

template <CidrList Config::*member>
void apply_cidrs(const Key& key, Config& config, const Source& source,
                 const std::vector<std::string>& values)
{
    config.*member = parse_cidrs(source, key.name, values);
}

template <CidrList Config::*member>
std::vector<std::string> show_cidrs(const Config& config)
{
    if ((config.*member).empty()) {
        return {};
    }
    return {(config.*member).format()};
}

template <CidrList Config::*member>
constexpr Key cidr_key(const char* name, const char* help, const char* default_text)
{
    return {name, help, "address ranges (CIDR), comma-separated", "RANGES", &apply_cidrs<member>,
            &show_cidrs<member>, true, 0, 0, default_text};
}

// In the order --check-config prints them. load_config applies them in this order too, so
// of two bad keys the earlier one is reported. A new key is a Config member with its
// default, a line here, and its entries in config/echod.conf, man/echod.conf.5 and
// man/echod.8 (OPTIONS), which config_test checks against this table.
constexpr Key keys[] = {
    {"address", "address to listen on", "numeric IPv4 or IPv6", "ADDRESS", &apply_addresses,
     &show_addresses, true},
    integer_key<&Config::port, 0, 65535>("port", "TCP port, 0 = any free port"),
    integer_key<&Config::backlog, 1, 65535>("backlog", "listen backlog"),
    integer_key<&Config::max_children, 1, 100000>("max_children", "concurrent connections"),
    integer_key<&Config::max_per_source, 0, 100000>(
        "max_per_source", "connections per IPv4 address or IPv6 /64, 0 = no limit"),
    integer_key<&Config::max_per_network, 0, 100000>(
        "max_per_network", "connections per IPv4 /24 or IPv6 /48, 0 = no limit",
        "max_children / 2", [](Config& config) {
            config.max_per_network = std::max(1u, config.max_children / 2);
        }),
    choice_key<&Config::mode, parse_mode, mode_name>(
        "mode", "fork: a child per accepted connection; prefork: spare children accept",
        "fork or prefork", "MODE"),
    integer_key<&Config::min_spare_children, 1, 100000>("min_spare_children",
                                                         "prefork: idle children, at least"),
    integer_key<&Config::max_spare_children, 1, 100000>("max_spare_children",
                                                         "prefork: idle children, at most"),
    integer_key<&Config::max_connections_per_child, 0, 100000000>(
        "max_connections_per_child",
        "prefork: connections a child serves before it exits, 0 = no limit"),
    choice_key<&Config::proxy_protocol, parse_proxy_protocol, proxy_protocol_name>(
        "proxy_protocol",
        "a PROXY protocol header from a trusted balancer names the client; every connection "
        "must begin with one",
        "off, v1, v2 or any", "VERSION"),
    cidr_key<&Config::proxy_trusted>(
        "proxy_trusted", "the balancers that may send a PROXY header; others are refused",
        "none; required with proxy_protocol"),
    duration_key<&Config::proxy_timeout>("proxy_timeout",
                                         "how long a PROXY header may take to arrive"),
    cidr_key<&Config::allow>("allow", "serve only clients in these ranges",
                             "empty: every client"),
    cidr_key<&Config::deny>("deny", "refuse clients in these ranges, even if allowed",
                            "empty: none"),
    integer_key<&Config::rate_per_source, 0, 1000000>(
        "rate_per_source",
        "new connections per second per IPv4 address or IPv6 /64, 0 = no limit"),
    integer_key<&Config::rate_burst, 1, 1000000>(
        "rate_burst", "the bucket's size: new connections a source may open at once",
        "rate_per_source", [](Config& config) {
            config.rate_burst = std::max(1u, config.rate_per_source);
        }),
    choice_key<&Config::udp, parse_udp_switch, switch_name>(
        "udp", "UDP echo on the same addresses and port", "on or off", "on|off"),
    integer_key<&Config::udp_rate_per_source, 0, 1000000>(
        "udp_rate_per_source",
        "UDP datagrams per second per source, burst twice that, 0 = no limit"),
    duration_key<&Config::idle_timeout>("idle_timeout",
                                        "close after no data for this long, 0 = never"),
    duration_key<&Config::stall_timeout>(
        "stall_timeout", "close when the client has read nothing for this long, 0 = never"),
    duration_key<&Config::shutdown_timeout>("shutdown_timeout", "drain time on SIGTERM"),
    duration_key<&Config::max_session>("max_session",
                                       "close a connection this long after it began, 0 = never"),
    choice_key<&Config::log_level, parse_log_level, log_level_name>(
        "log_level", "lines below this level are not logged",
        "debug, info, notice, warning or error", "LEVEL"),
    text_key<&Config::user, true>("user", "when root: drop to this user after binding",
                                  "a user name", "USER"),
    text_key<&Config::group, true>("group", "drop to this group; none: the user's primary group",
                                   "a group name, needs user", "GROUP"),
    text_key<&Config::pid_file>("pid_file", "write the master's pid here", "a path", "FILE"),
    {"metrics_file",
     "write the counters here every 5s, in Prometheus' text format (node_exporter's textfile "
     "collector reads *.prom)",
     "an absolute path", "FILE", &apply_file_path<&Config::metrics_file>,
     &show_text<&Config::metrics_file>},
};

}  // namespace

KeyTable config_keys()
{
    return {std::begin(keys), std::end(keys)};
}

// The default is a default-constructed Config's value, printed as
// --check-config prints it, so the default lives in the Config struct alone.
std::string describe(const Key& key)
{
    std::string defaults;
    for (const std::string& value : key.show(Config{})) {
        defaults += (defaults.empty() ? "" : ", ") + value;
    }
    const std::string accepted = key.accepted != nullptr ? key.accepted
                                                         : std::to_string(key.low) + " to " +
                                                               std::to_string(key.high);
    if (key.default_text != nullptr) {
        defaults = key.default_text;
    }
    return std::string(key.help) + (key.repeatable ? ", repeatable" : "") + " (" + accepted +
           "; default: " + (defaults.empty() ? "none" : defaults) + ")";
}

}  // namespace echod
