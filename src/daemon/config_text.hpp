// The config file as text: read, and scanned for the line each key is set on.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace echod {

// The file's text (throws ConfigError naming the file if it cannot be read). A UTF-8
// byte-order mark at its start, which some editors write, is left out.
std::string read_config_text(const std::string& path);

// The drop-in files of `directory` (the config file's path + ".d"), to be read after the
// config file itself: the names that end in ".conf" and do not start with '.', in byte
// order (the C locale's: "10-a.conf" before "9-b.conf", "B.conf" before "a.conf"). Other
// names are left alone, so dpkg's leftovers (.dpkg-old, .dpkg-dist), editor backups
// (~, .swp) and disabled files (.conf.off) are not read. No directory: none. A directory
// that cannot be listed throws ConfigError naming it.
std::vector<std::string> drop_in_files(const std::string& directory);

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
