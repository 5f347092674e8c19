#include "daemon/config.hpp"

#include "daemon/config_keys.hpp"
#include "daemon/config_text.hpp"
#include "daemon/config_usage.hpp"
#include "daemon/config_values.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <utility>

namespace po = boost::program_options;

namespace echod {
namespace {

using Values = std::map<std::string, std::vector<std::string>>;

po::options_description command_options()
{
    po::options_description commands;
    for (const CommandOption& option : command_options_table()) {
        if (option.value_name == nullptr) {
            commands.add_options()(option.names, option.help);
        } else if (option.default_value == nullptr) {
            commands.add_options()(option.names, po::value<std::string>(), option.help);
        } else {
            commands.add_options()(option.names,
                                   po::value<std::string>()->default_value(option.default_value),
                                   option.help);
        }
    }
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
    po::options_description options;  // their help is usage_text()'s (config_usage.cpp)
    for (const Key& key : config_keys()) {
        if (key.repeatable) {
            options.add_options()(key.name, po::value<std::vector<std::string>>(), "");
        } else {
            options.add_options()(key.name, po::value<std::string>(), "");
        }
    }
    return options;
}

bool is_key(const std::string& name)
{
    const KeyTable keys = config_keys();
    return std::any_of(keys.begin(), keys.end(), [&](const Key& key) { return name == key.name; });
}

std::string at_line(const std::string& path, unsigned line)
{
    return line == 0 ? path : path + ":" + std::to_string(line);
}

unsigned line_of(const ConfigLines& lines, const std::string& key, std::size_t index = 0)
{
    const auto it = lines.keys.find(key);
    return it != lines.keys.end() && index < it->second.size() ? it->second[index] : 0;
}

// The file's values, and the lines they are on.
struct FileValues {
    Values values;
    ConfigLines lines;
};

FileValues read_file(const std::string& path)
{
    FileValues file{{}, {}};
    const std::string text = read_config_text(path);
    file.lines = scan_config_lines(text);
    try {
        std::istringstream in(text);
        po::variables_map vm;
        po::store(po::parse_config_file(in, key_options(), false), vm);
        file.values = to_values(vm);
        return file;
    } catch (const po::unknown_option& e) {
        const std::string key = e.get_option_name();
        const std::string at = at_line(path, line_of(file.lines, key));
        if (key.empty()) {
            throw ConfigError(at + ": a line has no key before its '='");
        }
        throw ConfigError(at + ": unknown key '" + shown(key) + "'");
    } catch (const po::multiple_occurrences& e) {
        const std::string key = e.get_option_name();
        const unsigned first = line_of(file.lines, key);
        throw ConfigError(at_line(path, line_of(file.lines, key, 1)) + ": key '" + shown(key) +
                          "' is set more than once" +
                          (first != 0 ? ", first on line " + std::to_string(first) : ""));
    } catch (const po::invalid_config_file_syntax& e) {
        throw ConfigError(at_line(path, file.lines.malformed) +
                          ": a line is not 'key = value': '" + shown(e.tokens()) + "'");
    } catch (const po::error& e) {
        throw ConfigError(path + ": " + shown(e.what()));
    }
}

// The keys the user set, and where. A check across keys names the one set last.
using Origins = std::map<std::string, Source>;

// Whether `a` was applied after `b`: the command line after the files, a later file after
// an earlier one, and in a file, a later line after an earlier one.
bool applied_after(const Source& a, const Source& b)
{
    if (a.lines.empty() != b.lines.empty()) {
        return a.lines.empty();
    }
    return !a.lines.empty() &&
           std::make_pair(a.file, a.lines.front()) > std::make_pair(b.file, b.lines.front());
}

// What the files set, each key from the last file that sets it (a drop-in replaces the
// config file's value, and a later drop-in an earlier one's; the lines of a repeatable key
// add up within one file only), and where.
struct FileSettings {
    Values values;
    std::map<std::string, Source> sources;
};

FileSettings read_files(const std::vector<std::string>& paths)
{
    FileSettings settings;
    for (std::size_t i = 0; i < paths.size(); ++i) {
        FileValues file = read_file(paths[i]);
        for (auto& [key, values] : file.values) {
            settings.values[key] = std::move(values);
            settings.sources[key] = Source{paths[i], file.lines.keys.at(key), i};
        }
    }
    return settings;
}

// Spare children matter only in prefork mode, so they are checked only then: a file may
// keep prefork's settings while it runs fork mode (a reload to prefork checks them).
void check_spares(const Config& config, const Origins& origins)
{
    if (config.mode != Mode::prefork || config.min_spare_children <= config.max_spare_children) {
        return;
    }
    const auto min = origins.find("min_spare_children");
    const auto max = origins.find("max_spare_children");
    if (min != origins.end() &&
        (max == origins.end() || applied_after(min->second, max->second))) {
        min->second.fail("min_spare_children", std::to_string(config.min_spare_children),
                         "expected at most max_spare_children (" +
                             std::to_string(config.max_spare_children) + ")");
    }
    const Source unknown{config.path, {}};  // not reached: the defaults agree
    (max != origins.end() ? max->second : unknown)
        .fail("max_spare_children", std::to_string(config.max_spare_children),
              "expected at least min_spare_children (" +
                  std::to_string(config.min_spare_children) + ")");
}

// Checks that no single key can make: each value was valid alone.
void check_across_keys(const Config& config, const Origins& origins)
{
    if (!config.group.empty() && config.user.empty()) {
        origins.at("group").fail("group", config.group, "it needs 'user' as well");
    }
    check_spares(config, origins);
    if (config.proxy_protocol != ProxyProtocol::off && config.proxy_trusted.empty()) {
        origins.at("proxy_protocol")
            .fail("proxy_protocol", proxy_protocol_name(config.proxy_protocol),
                  "it needs 'proxy_trusted' as well: the balancers' addresses");
    }
    if (config.proxy_protocol != ProxyProtocol::off && config.proxy_timeout.count() == 0) {
        const auto set = origins.find("proxy_timeout");
        const Source unknown{config.path, {}};  // not reached: the default is 3s
        (set != origins.end() ? set->second : unknown)
            .fail("proxy_timeout", "0", "expected more than 0: a header must have a deadline");
    }
}

// On the command line a key may be spelled with dashes (--max-children); the table, and
// the file, spell it with underscores.
std::vector<std::string> with_key_spelling(int argc, const char* const argv[])
{
    std::vector<std::string> args(argv + 1, argv + argc);
    for (std::string& arg : args) {
        if (arg == "--") {
            break;
        }
        if (arg.rfind("--", 0) != 0) {
            continue;
        }
        const std::size_t end = std::min(arg.find('='), arg.size());
        std::string name = arg.substr(2, end - 2);
        std::replace(name.begin(), name.end(), '-', '_');
        if (is_key(name)) {
            arg = "--" + name + arg.substr(end);
        }
    }
    return args;
}

}  // namespace

CommandLine parse_command_line(int argc, const char* const argv[])
{
    po::options_description all;
    all.add(command_options()).add(key_options());
    po::variables_map vm;
    try {
        // No positional arguments: a stray word is an error, not silently ignored. No
        // guessing: "--po" is not taken for --port, so only whole option names work.
        const po::positional_options_description none;
        po::store(po::command_line_parser(with_key_spelling(argc, argv))
                      .options(all)
                      .positional(none)
                      .style(po::command_line_style::default_style &
                             ~po::command_line_style::allow_guessing)
                      .run(),
                  vm);
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
    config.files = {config.path};
    const std::vector<std::string> drop_ins = drop_in_files(config.path + ".d");
    config.files.insert(config.files.end(), drop_ins.begin(), drop_ins.end());
    const FileSettings files = read_files(config.files);
    Origins origins;
    for (const Key& key : config_keys()) {
        const std::vector<std::string>* values = nullptr;
        if (auto it = command_line.overrides.find(key.name); it != command_line.overrides.end()) {
            values = &it->second;
            origins[key.name] = Source{"command line", {}};
        } else if (auto in_file = files.values.find(key.name); in_file != files.values.end()) {
            values = &in_file->second;
            origins[key.name] = files.sources.at(key.name);
        } else {
            continue;
        }
        key.apply(key, config, origins[key.name], *values);
    }
    for (const Key& key : config_keys()) {
        if (key.derive != nullptr && origins.count(key.name) == 0) {
            key.derive(config);  // a default that follows other keys
        }
    }
    check_across_keys(config, origins);
    return config;
}

std::string format_config(const Config& config)
{
    std::ostringstream out;
    out << "# effective settings of " << config.path << "\n"
        << "# files read, in order (a later one wins, and the command line over all):\n";
    for (const std::string& file : config.files) {
        out << "#   " << file << "\n";
    }
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
