// Config values: how each kind is parsed and checked, and how an error names what was
// wrong (the source, the key, the value shown safely, what was expected).
#pragma once

#include "daemon/config.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace echod {

// Text from the file as an error message may show it: control characters and bytes that
// are not UTF-8 as \xNN (a binary file must not write raw bytes into the journal), and
// at most 100 bytes of it.
std::string shown(const std::string& text);

// Where a key's values came from, for error messages: the file and the line of each value
// ("/etc/echod/echod.conf:12"), or the command line.
struct Source {
    std::string name;            // the file's path, or "command line"
    std::vector<unsigned> lines;  // in the file: the line of each value, in order
    std::size_t file = 0;         // which file, in the order they are read (Config::files)

    std::string where(std::size_t value = 0) const
    {
        return lines.empty() ? name
                             : name + ":" + std::to_string(lines[std::min(value, lines.size() - 1)]);
    }
    // `value_index`: which of the key's values (its lines) is wrong.
    [[noreturn]] void fail(const std::string& key, const std::string& value,
                           const std::string& expected, std::size_t value_index = 0) const
    {
        throw ConfigError(where(value_index) + ": key '" + key + "' has value '" + shown(value) +
                          "': " + expected);
    }
};

std::uint64_t parse_integer(const Source& source, const std::string& key,
                            const std::string& value, std::uint64_t low, std::uint64_t high);
std::chrono::milliseconds parse_duration(const Source& source, const std::string& key,
                                         const std::string& value);
LogLevel parse_log_level(const Source& source, const std::string& value);
Mode parse_mode(const Source& source, const std::string& value);
ProxyProtocol parse_proxy_protocol(const Source& source, const std::string& value);
bool parse_udp_switch(const Source& source, const std::string& value);
// Address ranges (os/cidr.hpp), comma-separated or one line per value; the lines add up.
CidrList parse_cidrs(const Source& source, const std::string& key,
                     const std::vector<std::string>& values);
// Numeric addresses, comma-separated or one per value, each in one spelling, each once;
// only addresses a listener can bind (no IPv4-mapped, a scope exactly on link-local, not a
// wildcard beside a specific address of its family).
std::vector<std::string> parse_addresses(const Source& source,
                                         const std::vector<std::string>& values);
// `path` is empty (none) or the absolute path of a file: not a directory's, no control
// characters. The file and its directory need not exist yet.
void check_file_path(const Source& source, const std::string& key, const std::string& path);
// `key` is user or group: `name` must exist on this system (or be empty).
void check_account(const Source& source, const std::string& key, const std::string& name);

}  // namespace echod
