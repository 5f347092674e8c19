// The config keys, each declared once, in one table (config_keys.cpp).
#pragma once

#include "daemon/config.hpp"
#include "daemon/config_values.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace echod {

// One config key. key_options(), load_config() and format_config() (config.cpp) are loops
// over the table, so a key cannot be parsed but not printed, or printed with another
// default than the one it has.
struct Key {
    using Apply = void (*)(const Key&, Config&, const Source&, const std::vector<std::string>&);
    using Show = std::vector<std::string> (*)(const Config&);
    const char* name;
    const char* help;         // what it means; --help adds what it accepts and its default
    const char* accepted;     // for --help; nullptr for an integer, whose range is shown
    const char* value_name;   // for --help: --port=N, --mode=MODE
    Apply apply;              // parses and checks the value(s), then sets the member
    Show show;                // as format_config prints it, one line per value
    bool repeatable = false;  // the lines add up instead of being an error
    std::uint64_t low = 0;    // integer keys: the range, in --help and in the error
    std::uint64_t high = 0;
    // A default that follows other keys: derive sets it once they are all read, and
    // default_text says how in --help.
    const char* default_text = nullptr;
    void (*derive)(Config&) = nullptr;
};

// The table, in the order --check-config prints the keys.
struct KeyTable {
    const Key* first;
    const Key* last;
    const Key* begin() const { return first; }
    const Key* end() const { return last; }
};
KeyTable config_keys();

// --help text of a key: what it means, what it accepts, and its default.
std::string describe(const Key& key);

}  // namespace echod
