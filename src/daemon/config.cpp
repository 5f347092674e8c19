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
#include <type_traits>
#include <utility>

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

// One config key, declared once: key_options(), load_config() and format_config() are
// loops over config_keys below, so a key cannot be parsed but not printed, or printed
// with another default than the one it has.
struct Key {
    using Apply = void (*)(const Key&, Config&, const Source&, const std::vector<std::string>&);
    using Show = std::vector<std::string> (*)(const Config&);
    const char* name;
    const char* help;         // what it means; --help adds what it accepts and its default
    const char* accepted;     // for --help; nullptr for an integer, whose range is shown
    Apply apply;              // parses and checks the value(s), then sets the member
    Show show;                // as format_config prints it, one line per value
    bool repeatable = false;  // the lines add up instead of being an error
    std::uint64_t low = 0;    // integer keys: the range, in --help and in the error
    std::uint64_t high = 0;
};

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
constexpr Key integer_key(const char* name, const char* help)
{
    static_assert(low <= high && high <= static_cast<std::uint64_t>(
                                             std::numeric_limits<MemberType<member>>::max()),
                  "the range must fit the member");
    return {name, help, nullptr, &apply_integer<member>, &show_integer<member>, false, low, high};
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
    return {name, help, "a duration", &apply_duration<member>, &show_duration<member>};
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
constexpr Key choice_key(const char* name, const char* help, const char* accepted)
{
    return {name, help, accepted, &apply_choice<member, parse, print>,
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
constexpr Key text_key(const char* name, const char* help, const char* accepted)
{
    return {name, help, accepted, &apply_text<member, is_account>, &show_text<member>};
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

// In the order --check-config prints them. load_config applies them in this order too, so
// of two bad keys the earlier one is reported. A new key is a Config member with its
// default, a line here, and its entries in config/echod.conf, man/echod.conf.5 and the
// README's table, which config_test checks against this table.
constexpr Key config_keys[] = {
    {"address", "address to listen on", "numeric IPv4 or IPv6", &apply_addresses,
     &show_addresses, true},
    integer_key<&Config::port, 0, 65535>("port", "TCP port, 0 = any free port"),
    integer_key<&Config::backlog, 1, 65535>("backlog", "listen backlog"),
    integer_key<&Config::max_children, 1, 100000>("max_children", "concurrent connections"),
    integer_key<&Config::max_per_source, 0, 100000>(
        "max_per_source", "connections per IPv4 address or IPv6 /64, 0 = no limit"),
    choice_key<&Config::mode, parse_mode, mode_name>(
        "mode", "fork: a child per accepted connection; prefork: spare children accept",
        "fork or prefork"),
    integer_key<&Config::min_spare_children, 1, 100000>("min_spare_children",
                                                         "prefork: idle children, at least"),
    integer_key<&Config::max_spare_children, 1, 100000>("max_spare_children",
                                                         "prefork: idle children, at most"),
    integer_key<&Config::max_connections_per_child, 0, 100000000>(
        "max_connections_per_child",
        "prefork: connections a child serves before it exits, 0 = no limit"),
    duration_key<&Config::idle_timeout>("idle_timeout",
                                        "close after no data for this long, 0 = never"),
    duration_key<&Config::stall_timeout>(
        "stall_timeout", "close when the client has read nothing for this long, 0 = never"),
    duration_key<&Config::shutdown_timeout>("shutdown_timeout", "drain time on SIGTERM"),
    choice_key<&Config::log_level, parse_log_level, log_level_name>(
        "log_level", "lines below this level are not logged",
        "debug, info, notice, warning or error"),
    text_key<&Config::user, true>("user", "when root: drop to this user after binding",
                                  "a user name"),
    text_key<&Config::group, true>("group", "drop to this group; none: the user's primary group",
                                   "a group name, needs user"),
    text_key<&Config::pid_file>("pid_file", "write the master's pid here", "a path"),
};

// --help text of a key. The default is a default-constructed Config's value, printed as
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
    return std::string(key.help) + (key.repeatable ? ", repeatable" : "") + " (" + accepted +
           "; default: " + (defaults.empty() ? "none" : defaults) + ")";
}

// Each key is a config-file key and a long command-line option.
po::options_description key_options()
{
    po::options_description options("Settings (config file keys; the command line wins)");
    for (const Key& key : config_keys) {
        const std::string help = describe(key);  // add_options copies it
        if (key.repeatable) {
            options.add_options()(key.name, po::value<std::vector<std::string>>(), help.c_str());
        } else {
            options.add_options()(key.name, po::value<std::string>(), help.c_str());
        }
    }
    return options;
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

// Checks that no single key can make: each value was valid alone.
void check_across_keys(const Config& config)
{
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
    for (const Key& key : config_keys) {
        if (auto it = command_line.overrides.find(key.name); it != command_line.overrides.end()) {
            key.apply(key, config, command_source, it->second);
        } else if (auto in_file = from_file.find(key.name); in_file != from_file.end()) {
            key.apply(key, config, file_source, in_file->second);
        }
    }
    check_across_keys(config);
    return config;
}

std::string format_config(const Config& config)
{
    std::ostringstream out;
    out << "# effective settings of " << config.path << "\n";
    for (const Key& key : config_keys) {
        for (const std::string& value : key.show(config)) {
            out << key.name << " = " << value << "\n";
        }
    }
    return out.str();
}

std::vector<std::string> config_key_names()
{
    std::vector<std::string> names;
    for (const Key& key : config_keys) {
        names.emplace_back(key.name);
    }
    return names;
}

}  // namespace echod
