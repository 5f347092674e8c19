#include "daemon/config.hpp"

#include "daemon/config_keys.hpp"
#include "daemon/config_values.hpp"

#include <sys/stat.h>

#include <boost/program_options.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#ifndef ECHOD_DEFAULT_CONFIG
#define ECHOD_DEFAULT_CONFIG "/etc/echod/echod.conf"
#endif

namespace po = boost::program_options;

namespace echod {
namespace {

using Values = std::map<std::string, std::vector<std::string>>;

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

// Each key is a config-file key and a long command-line option.
po::options_description key_options()
{
    po::options_description options("Settings (config file keys; the command line wins)");
    for (const Key& key : config_keys()) {
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
            if (used != pid.size() || value <= 0 || value > INT32_MAX) {
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
    std::vector<const Key*> not_set;
    for (const Key& key : config_keys()) {
        if (auto it = command_line.overrides.find(key.name); it != command_line.overrides.end()) {
            key.apply(key, config, command_source, it->second);
        } else if (auto in_file = from_file.find(key.name); in_file != from_file.end()) {
            key.apply(key, config, file_source, in_file->second);
        } else {
            not_set.push_back(&key);
        }
    }
    for (const Key* key : not_set) {
        if (key->derive != nullptr) {
            key->derive(config);  // a default that follows other keys
        }
    }
    check_across_keys(config);
    return config;
}

std::string format_config(const Config& config)
{
    std::ostringstream out;
    out << "# effective settings of " << config.path << "\n";
    for (const Key& key : config_keys()) {
        for (const std::string& value : key.show(config)) {
            out << key.name << " = " << value << "\n";
        }
    }
    return out.str();
}

std::vector<std::string> config_key_names()
{
    std::vector<std::string> names;
    for (const Key& key : config_keys()) {
        names.emplace_back(key.name);
    }
    return names;
}

}  // namespace echod
