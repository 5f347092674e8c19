#include "daemon/config.hpp"

#include "os/address.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#ifndef ECHOD_DEFAULT_CONFIG
#define ECHOD_DEFAULT_CONFIG "/etc/echod/echod.conf"
#endif

namespace po = boost::program_options;

namespace echod {
namespace {

using Values = std::map<std::string, std::vector<std::string>>;
using std::chrono::milliseconds;

constexpr milliseconds max_duration = std::chrono::hours(24 * 7);

// Length of the valid UTF-8 sequence at text[i] (2 to 4 bytes), or 0.
std::size_t utf8_sequence(const std::string& text, std::size_t i)
{
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t length = lead >= 0xc2 && lead <= 0xdf   ? 2
                               : lead >= 0xe0 && lead <= 0xef ? 3
                               : lead >= 0xf0 && lead <= 0xf4 ? 4
                                                              : 0;
    if (length == 0 || i + length > text.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < length; ++k) {
        if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) {
            return 0;
        }
    }
    return length;
}

// Text from the file as an error message may show it: control characters and bytes that
// are not UTF-8 as \xNN (a binary file must not write raw bytes into the journal), and
// at most 100 bytes of it.
std::string shown(const std::string& text)
{
    constexpr std::size_t most = 100;
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < most;) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
            ++i;
        } else if (const std::size_t n = utf8_sequence(text, i); n > 0) {
            out += text.substr(i, n);
            i += n;
        } else {
            out += std::string("\\x") + hex[c >> 4] + hex[c & 0xf];
            ++i;
        }
    }
    if (text.size() > most) {
        out += "... (" + std::to_string(text.size()) + " bytes)";
    }
    return out;
}

// The keys: each is a config-file key and a long command-line option.
po::options_description key_options()
{
    po::options_description keys("Settings (config file keys; the command line wins)");
    keys.add_options()
        ("port", po::value<std::string>(), "TCP port, 0 = any free port (default 7)")
        ("backlog", po::value<std::string>(), "listen backlog, 1-65535 (default 128)")
        ("address", po::value<std::vector<std::string>>(),
         "numeric IPv4/IPv6 address to listen on, repeatable (default: all, both families)")
        ("max_children", po::value<std::string>(), "concurrent connections (default 256)")
        ("max_per_source", po::value<std::string>(),
         "connections per IPv4 address or IPv6 /64, 0 = no limit (default 32)")
        ("mode", po::value<std::string>(), "fork (a child per accepted connection) or prefork "
         "(spare children accept) (default fork)")
        ("min_spare_children", po::value<std::string>(), "prefork: idle children, at least (5)")
        ("max_spare_children", po::value<std::string>(), "prefork: idle children, at most (20)")
        ("max_connections_per_child", po::value<std::string>(),
         "prefork: connections a child serves before it exits, 0 = no limit (default 1)")
        ("idle_timeout", po::value<std::string>(), "close after no data for this long (60s)")
        ("stall_timeout", po::value<std::string>(), "close when the client stops reading (30s)")
        ("shutdown_timeout", po::value<std::string>(), "drain time on SIGTERM (10s)")
        ("log_level", po::value<std::string>(), "debug, info, notice, warning, error (info)")
        ("user", po::value<std::string>(), "drop to this user after binding (when root)")
        ("group", po::value<std::string>(), "drop to this group (default: the user's)")
        ("pid_file", po::value<std::string>(), "write the master's pid here");
    return keys;
}

po::options_description command_options()
{
    po::options_description commands("Options");
    commands.add_options()
        ("help,h", "print this help and exit")
        ("version,V", "print the version and exit")
        ("config,c", po::value<std::string>()->default_value(ECHOD_DEFAULT_CONFIG),
         "config file")
        ("check-config,t", "validate the configuration, print the effective settings, exit")
        ("quiet,q", "with --check-config: print nothing, only the exit status tells")
        ("reload", po::value<std::string>()->value_name("PID"),
         "ask the echod master PID to reload its configuration and wait for the outcome");
    return commands;
}

Values to_values(const po::variables_map& vm)
{
    Values values;
    for (const auto& [key, value] : vm) {
        if (value.value().type() == typeid(std::string)) {
            values[key] = {value.as<std::string>()};
        } else if (value.value().type() == typeid(std::vector<std::string>)) {
            values[key] = value.as<std::vector<std::string>>();
        }
    }
    return values;
}

// Where a value came from, for error messages: the file, or the command line.
struct Source {
    std::string name;
    [[noreturn]] void fail(const std::string& key, const std::string& value,
                           const std::string& expected) const
    {
        throw ConfigError(name + ": key '" + key + "' has value '" + shown(value) + "': " +
                          expected);
    }
};

std::optional<std::uint64_t> parse_digits(const std::string& text, std::size_t& pos)
{
    const std::size_t start = pos;
    std::uint64_t n = 0;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
        const unsigned digit = static_cast<unsigned>(text[pos] - '0');
        if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            return std::nullopt;
        }
        n = n * 10 + digit;
    }
    if (pos == start) {
        return std::nullopt;
    }
    return n;
}

std::uint64_t parse_integer(const Source& source, const std::string& key,
                            const std::string& value, std::uint64_t low, std::uint64_t high)
{
    std::size_t pos = 0;
    const auto n = parse_digits(value, pos);
    if (!n || pos != value.size() || *n < low || *n > high) {
        source.fail(key, value,
                    "expected an integer from " + std::to_string(low) + " to " +
                        std::to_string(high));
    }
    return *n;
}

milliseconds parse_duration(const Source& source, const std::string& key,
                            const std::string& value)
{
    static const std::map<std::string, std::uint64_t> units{
        {"", 1000}, {"s", 1000}, {"ms", 1}, {"m", 60'000}, {"h", 3'600'000}};
    std::size_t pos = 0;
    const auto n = parse_digits(value, pos);
    const auto unit = units.find(value.substr(std::min(pos, value.size())));
    const std::uint64_t limit = static_cast<std::uint64_t>(max_duration.count());
    if (!n || unit == units.end() || *n > limit / unit->second) {
        source.fail(key, value,
                    "expected a duration such as 30, 30s, 500ms, 5m or 1h, at most 7 days");
    }
    return milliseconds(*n * unit->second);
}

LogLevel parse_log_level(const Source& source, const std::string& value)
{
    for (LogLevel level : {LogLevel::debug, LogLevel::info, LogLevel::notice, LogLevel::warning,
                           LogLevel::error}) {
        if (value == log_level_name(level)) {
            return level;
        }
    }
    source.fail("log_level", value, "expected one of debug, info, notice, warning, error");
}

Mode parse_mode(const Source& source, const std::string& value)
{
    for (Mode mode : {Mode::fork, Mode::prefork}) {
        if (value == mode_name(mode)) {
            return mode;
        }
    }
    source.fail("mode", value, "expected fork or prefork");
}

std::vector<std::string> parse_addresses(const Source& source,
                                         const std::vector<std::string>& values)
{
    std::vector<std::string> addresses;
    for (const std::string& value : values) {
        std::istringstream words(value);
        std::string word;
        std::size_t found = 0;
        while (std::getline(words, word, ',')) {
            std::istringstream trimmed(word);
            std::string address;
            while (trimmed >> address) {
                const auto endpoint = parse_endpoint(address, 0);
                if (!endpoint) {
                    source.fail("address", value,
                                "expected numeric IPv4 or IPv6 addresses (names are not looked "
                                "up)");
                }
                address = format_host(*endpoint);  // one spelling: "[::1]" and "::1" match
                if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
                    addresses.push_back(address);  // a repeated address is listened on once
                }
                ++found;
            }
        }
        if (found == 0) {
            source.fail("address", value, "expected a numeric IPv4 or IPv6 address");
        }
    }
    return addresses;
}

void check_account(const Source& source, const std::string& key, const std::string& name)
{
    if (name.empty()) {
        return;
    }
    errno = 0;
    const bool found = key == "user" ? ::getpwnam(name.c_str()) != nullptr
                                     : ::getgrnam(name.c_str()) != nullptr;
    if (!found) {
        source.fail(key, name, errno != 0 ? std::string("lookup failed: ") + std::strerror(errno)
                                          : "no such " + key + " on this system");
    }
}

// Applies one key's value (already known to be present) to the config.
void apply(Config& config, const Source& source, const std::string& key,
           const std::vector<std::string>& values)
{
    const std::string& value = values.front();
    if (key == "port") {
        config.port = static_cast<std::uint16_t>(parse_integer(source, key, value, 0, 65535));
    } else if (key == "backlog") {
        config.backlog = static_cast<int>(parse_integer(source, key, value, 1, 65535));
    } else if (key == "address") {
        config.addresses = parse_addresses(source, values);
        config.default_addresses = false;
    } else if (key == "max_children") {
        config.max_children = static_cast<unsigned>(parse_integer(source, key, value, 1, 100000));
    } else if (key == "max_per_source") {
        config.max_per_source =
            static_cast<unsigned>(parse_integer(source, key, value, 0, 100000));
    } else if (key == "mode") {
        config.mode = parse_mode(source, value);
    } else if (key == "min_spare_children" || key == "max_spare_children") {
        (key == "min_spare_children" ? config.min_spare_children : config.max_spare_children) =
            static_cast<unsigned>(parse_integer(source, key, value, 1, 100000));
    } else if (key == "max_connections_per_child") {
        config.max_connections_per_child =
            static_cast<unsigned>(parse_integer(source, key, value, 0, 100000000));
    } else if (key == "idle_timeout") {
        config.idle_timeout = parse_duration(source, key, value);
    } else if (key == "stall_timeout") {
        config.stall_timeout = parse_duration(source, key, value);
    } else if (key == "shutdown_timeout") {
        config.shutdown_timeout = parse_duration(source, key, value);
    } else if (key == "log_level") {
        config.log_level = parse_log_level(source, value);
    } else if (key == "user" || key == "group") {
        check_account(source, key, value);
        (key == "user" ? config.user : config.group) = value;
    } else if (key == "pid_file") {
        config.pid_file = value;
    }
}

Values read_file(const std::string& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        throw ConfigError(path + ": cannot read the config file: " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        throw ConfigError(path + ": cannot read the config file: not a regular file");
    }
    std::ifstream file(path);
    if (!file) {
        throw ConfigError(path + ": cannot read the config file: " + std::strerror(errno));
    }
    try {
        po::variables_map vm;
        po::store(po::parse_config_file(file, key_options(), false), vm);
        if (file.bad()) {
            throw ConfigError(path + ": read error: " + std::strerror(errno));
        }
        return to_values(vm);
    } catch (const po::unknown_option& e) {
        if (e.get_option_name().empty()) {
            throw ConfigError(path + ": a line has no key before its '='");
        }
        throw ConfigError(path + ": unknown key '" + shown(e.get_option_name()) + "'");
    } catch (const po::multiple_occurrences& e) {
        throw ConfigError(path + ": key '" + shown(e.get_option_name()) +
                          "' is set more than once");
    } catch (const po::invalid_config_file_syntax& e) {
        throw ConfigError(path + ": a line is not 'key = value': '" + shown(e.tokens()) + "'");
    } catch (const po::error& e) {
        throw ConfigError(path + ": " + shown(e.what()));
    }
}

}  // namespace

const char* mode_name(Mode mode)
{
    return mode == Mode::prefork ? "prefork" : "fork";
}

const char* log_level_name(LogLevel level)
{
    switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::notice: return "notice";
    case LogLevel::warning: return "warning";
    case LogLevel::error: return "error";
    }
    return "info";
}

std::string format_duration(milliseconds duration)
{
    const auto ms = duration.count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

std::string usage_text()
{
    po::options_description all("Usage: echod [options]\n\nTCP echo daemon (RFC 862)");
    all.add(command_options()).add(key_options());
    std::ostringstream out;
    out << all;
    return out.str();
}

CommandLine parse_command_line(int argc, const char* const argv[])
{
    po::options_description all;
    all.add(command_options()).add(key_options());
    po::variables_map vm;
    try {
        // No positional arguments: a stray word is an error, not silently ignored.
        const po::positional_options_description none;
        po::store(po::command_line_parser(argc, argv).options(all).positional(none).run(), vm);
    } catch (const po::error& e) {
        throw UsageError(e.what());
    }
    CommandLine command_line;
    if (vm.count("help")) {
        command_line.action = CommandLine::Action::help;
    } else if (vm.count("version")) {
        command_line.action = CommandLine::Action::version;
    } else if (vm.count("check-config")) {
        command_line.action = CommandLine::Action::check_config;
    } else if (vm.count("reload")) {
        command_line.action = CommandLine::Action::reload;
        const std::string pid = vm["reload"].as<std::string>();
        try {
            std::size_t used = 0;
            const long value = std::stol(pid, &used);
            if (used != pid.size() || value <= 1 || value > INT32_MAX) {
                throw std::out_of_range(pid);
            }
            command_line.reload_pid = static_cast<pid_t>(value);
        } catch (const std::logic_error&) {
            throw UsageError("--reload needs the pid of an echod master, not '" + pid + "'");
        }
    }
    command_line.quiet = vm.count("quiet") > 0;
    command_line.config_path = vm["config"].as<std::string>();
    command_line.overrides = to_values(vm);
    command_line.overrides.erase("config");
    command_line.overrides.erase("reload");
    return command_line;
}

Config load_config(const CommandLine& command_line)
{
    Config config;
    config.path = command_line.config_path;
    const Values from_file = read_file(config.path);
    const Source file_source{config.path};
    const Source command_source{"command line"};
    const po::options_description keys = key_options();
    for (const auto& option : keys.options()) {
        const std::string& key = option->long_name();
        if (auto it = command_line.overrides.find(key); it != command_line.overrides.end()) {
            apply(config, command_source, key, it->second);
        } else if (auto in_file = from_file.find(key); in_file != from_file.end()) {
            apply(config, file_source, key, in_file->second);
        }
    }
    if (!config.group.empty() && config.user.empty()) {
        throw ConfigError(config.path + ": key 'group' has value '" + config.group +
                          "': it needs 'user' as well");
    }
    if (config.max_spare_children < config.min_spare_children) {
        throw ConfigError(config.path + ": key 'max_spare_children' has value '" +
                          std::to_string(config.max_spare_children) +
                          "': expected at least min_spare_children (" +
                          std::to_string(config.min_spare_children) + ")");
    }
    return config;
}

std::string format_config(const Config& config)
{
    std::ostringstream out;
    out << "# effective settings of " << config.path << "\n";
    for (const std::string& address : config.addresses) {
        out << "address = " << address << "\n";
    }
    out << "port = " << config.port << "\n"
        << "backlog = " << config.backlog << "\n"
        << "max_children = " << config.max_children << "\n"
        << "max_per_source = " << config.max_per_source << "\n"
        << "mode = " << mode_name(config.mode) << "\n"
        << "min_spare_children = " << config.min_spare_children << "\n"
        << "max_spare_children = " << config.max_spare_children << "\n"
        << "max_connections_per_child = " << config.max_connections_per_child << "\n"
        << "idle_timeout = " << format_duration(config.idle_timeout) << "\n"
        << "stall_timeout = " << format_duration(config.stall_timeout) << "\n"
        << "shutdown_timeout = " << format_duration(config.shutdown_timeout) << "\n"
        << "log_level = " << log_level_name(config.log_level) << "\n"
        << "user = " << config.user << "\n"
        << "group = " << config.group << "\n"
        << "pid_file = " << config.pid_file << "\n";
    return out.str();
}

}  // namespace echod
