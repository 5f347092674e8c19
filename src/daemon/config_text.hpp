// The config file as text: read, and scanned for the line each key is set on.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace echod {

// The file's text (throws ConfigError naming the file if it cannot be read). A UTF-8
// byte-order mark at its start, which some editors write, is left out.
std::string read_config_text(const std::string& path);

// Where each key is set. Boost.Program_options (config.cpp) parses the file and says
// which key is wrong, but not on which line.
struct ConfigLines {
    std::map<std::string, std::vector<unsigned>> keys;  // key -> the lines that set it
    unsigned malformed = 0;  // the first line that is neither 'key = value' nor a section
};

// The text scanned by the rules of Boost's parse_config_file: '#' starts a comment, blanks
// around are trimmed, "[name]" puts "name." before the keys that follow, and the key is
// what comes before the first '='.
ConfigLines scan_config_lines(const std::string& text);

}  // namespace echod
