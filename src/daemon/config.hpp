// The daemon's settings as a plain struct, and the only door to Boost.Program_options.
#pragma once

#include "os/cidr.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace echod {

enum class LogLevel { debug, info, notice, warning, error };

// fork: the master accepts and forks a child per connection. prefork: spare children,
// forked ahead, accept on the shared listeners themselves.
enum class Mode { fork, prefork };

// Whether the listeners expect a PROXY protocol header (HAProxy's doc/proxy-protocol.txt)
// before the client's bytes, and which versions.
enum class ProxyProtocol { off, v1, v2, any };

struct Config {
    std::string path;  // the config file (--config)
    // The files these settings were read from, in order: path, then the drop-ins in
    // path + ".d" (config_text.hpp); a later one's key replaces an earlier one's.
    std::vector<std::string> files;
    std::vector<std::string> addresses{"0.0.0.0", "::"};
    bool default_addresses = true;  // not set by the user: a host without IPv6 is fine
    std::uint16_t port = 7;
    int backlog = 511;  // above max_children's default, as nginx's 511
    unsigned max_children = 256;
    unsigned max_per_source = 32;  // 0: no per-source limit
    unsigned max_per_network = 128;  // 0: none; not set: max_children / 2 (at least 1)
    Mode mode = Mode::fork;
    unsigned min_spare_children = 5;          // prefork: idle children kept at least
    unsigned max_spare_children = 20;         // prefork: idle children kept at most
    unsigned max_connections_per_child = 1;   // prefork: then the child exits; 0: no limit
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};   // 0: none
    std::chrono::milliseconds stall_timeout{std::chrono::seconds(30)};  // 0: none
    std::chrono::milliseconds shutdown_timeout{std::chrono::seconds(10)};
    std::chrono::milliseconds max_session{std::chrono::hours(1)};  // 0: none
    ProxyProtocol proxy_protocol = ProxyProtocol::off;
    CidrList proxy_trusted;  // the balancers: required when proxy_protocol is not off
    std::chrono::milliseconds proxy_timeout{std::chrono::seconds(3)};
    CidrList allow;  // empty: every client
    CidrList deny;
    unsigned rate_per_source = 0;  // new connections per second per source; 0: no limit
    unsigned rate_burst = 0;       // not set: rate_per_source
    bool udp = false;              // UDP echo on the same addresses and port
    unsigned udp_rate_per_source = 10;  // datagrams per second per source, burst twice that
    LogLevel log_level = LogLevel::info;
    std::string user;
    std::string group;
    std::string pid_file;
    std::string metrics_file;  // Prometheus text format, rewritten every few seconds; "": none
};

// A setting is wrong (exit 78). The message names the source, the key, the value and what
// was expected.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The command line itself is malformed (exit 64).
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What the command line asked for. Its key overrides are kept so that a reload reads the
// file again and still lets the command line win.
struct CommandLine {
    enum class Action { run, check_config, reload, help, version };
    Action action = Action::run;
    pid_t reload_pid = 0;  // --reload PID
    bool quiet = false;  // --check-config: nothing on stdout or stderr, only the exit status
    std::string config_path;
    std::map<std::string, std::vector<std::string>> overrides;
};

CommandLine parse_command_line(int argc, const char* const argv[]);
std::string usage_text();

// Reads the file named by the command line, then its drop-ins, applies the command line's
// overrides, validates everything.
Config load_config(const CommandLine& command_line);

// The effective settings in the config file's own syntax (for --check-config).
std::string format_config(const Config& config);

// Every config key, in the order format_config prints them (for tests that check the
// sample config, the man page and --help against them).
std::vector<std::string> config_key_names();

const char* log_level_name(LogLevel level);
const char* mode_name(Mode mode);
const char* proxy_protocol_name(ProxyProtocol protocol);
const char* switch_name(bool on);  // "on", "off"
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace echod
