// The command line's own options (not settings), declared once: config.cpp registers them
// with Boost.Program_options, and usage_text() (config_usage.cpp) prints them with the keys.
#pragma once

#include <cstddef>

namespace echod {

struct CommandOption {
    const char* names;          // as Boost.Program_options takes them: "config,c"
    const char* value_name;     // --config=FILE; nullptr: a flag
    const char* default_value;  // nullptr: none
    const char* help;
};

struct CommandOptions {
    const CommandOption* first;
    const CommandOption* last;
    const CommandOption* begin() const { return first; }
    const CommandOption* end() const { return last; }
};
CommandOptions command_options_table();

}  // namespace echod
