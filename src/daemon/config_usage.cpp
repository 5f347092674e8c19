// `echod --help`: the GNU layout (usage, what it is, the options in groups, each with its
// argument and a description in one column, where to read more), from the command options
// below and the key table (config_keys.cpp).
#include "daemon/config_usage.hpp"

#include "daemon/config.hpp"
#include "daemon/config_keys.hpp"

#include <sstream>
#include <string>
#include <vector>

#ifndef ECHOD_DEFAULT_CONFIG
#define ECHOD_DEFAULT_CONFIG "/etc/echod/echod.conf"
#endif

namespace echod {
namespace {

constexpr CommandOption commands[] = {
    {"config,c", "FILE", ECHOD_DEFAULT_CONFIG,
     "read the settings from FILE, then from the *.conf files in FILE.d/ in name order "
     "(default: " ECHOD_DEFAULT_CONFIG ")"},
    {"check-config,t", nullptr, nullptr,
     "validate the configuration, print the files read and the effective settings, exit"},
    {"quiet,q", nullptr, nullptr, "with --check-config: print nothing, only the exit status tells"},
    {"reload", "PID", nullptr,
     "ask the echod master PID to reload its configuration and wait for the outcome"},
    {"help,h", nullptr, nullptr, "print this help and exit"},
    {"version,V", nullptr, nullptr, "print the version and exit"},
};

constexpr std::size_t width = 79;        // the text, as GNU tools keep it within 80 columns
constexpr std::size_t description = 32;  // the column the descriptions start in

// "-c, --config=FILE" or "    --reload=PID": a short name is given after the comma.
std::string spelled(const CommandOption& option)
{
    const std::string names = option.names;
    const std::size_t comma = names.find(',');
    std::string text = comma == std::string::npos ? "    --" + names
                                                   : "-" + names.substr(comma + 1) + ", --" +
                                                         names.substr(0, comma);
    if (option.value_name != nullptr) {
        text += std::string("=") + option.value_name;
    }
    return text;
}

// One option: its spelling at column 2, its description from column `description` on,
// wrapped at `width` (on the next line when the spelling reaches the column).
void print_option(std::ostringstream& out, const std::string& spelling, const std::string& help)
{
    std::string line = "  " + spelling;
    if (line.size() + 2 > description) {
        out << line << "\n";
        line.clear();
    }
    // "0 = never" stays on one line.
    std::vector<std::string> words;
    std::istringstream split(help);
    for (std::string word; split >> word;) {
        if (!words.empty() && (word == "=" || words.back().back() == '=')) {
            words.back() += " " + word;
        } else {
            words.push_back(word);
        }
    }
    bool first = true;
    for (const std::string& word : words) {
        if (!first && line.size() + 1 + word.size() > width) {
            out << line << "\n";
            line.clear();
            first = true;
        }
        if (first) {
            line.resize(description, ' ');
        } else {
            line += ' ';
        }
        line += word;
        first = false;
    }
    out << line << "\n";
}

}  // namespace

CommandOptions command_options_table()
{
    return {std::begin(commands), std::end(commands)};
}

std::string usage_text()
{
    std::ostringstream out;
    out << "Usage: echod [OPTION]...\n"
           "Run the TCP echo daemon (RFC 862): every byte a client sends comes back.\n"
           "\nGeneral options:\n";
    for (const CommandOption& option : commands) {
        print_option(out, spelled(option), option.help);
    }
    out << "\nSettings: the keys of the config files, which the command line overrides\n"
           "(where a dash may stand for each underscore):\n";
    for (const Key& key : config_keys()) {
        print_option(out, std::string("    --") + key.name + "=" + key.value_name, describe(key));
    }
    out << "\nSee echod(8) and echod.conf(5).\n";
    return out.str();
}

}  // namespace echod
