#include "daemon/config_text.hpp"

#include "daemon/config.hpp"
#include "os/unique_fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <memory>
#include <sstream>

namespace echod {
namespace {

std::string trimmed(const std::string& text)
{
    const char* blanks = " \t\r\n";
    const std::size_t first = text.find_first_not_of(blanks);
    return first == std::string::npos
               ? std::string()
               : text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

}  // namespace

std::string read_config_text(const std::string& path)
{
    // O_NONBLOCK: a FIFO in the file's place must not block the open; it is refused below.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) {
        throw ConfigError(path + ": cannot read the config file: " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        throw ConfigError(path + ": cannot read the config file: not a regular file");
    }
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd.get(), buffer, sizeof buffer)) != 0;) {
        if (n < 0 && errno != EINTR) {
            throw ConfigError(path + ": read error: " + std::strerror(errno));
        }
        text.append(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
    }
    constexpr char bom[] = "\xef\xbb\xbf";
    if (text.rfind(bom, 0) == 0) {
        text.erase(0, sizeof bom - 1);
    }
    return text;
}

std::vector<std::string> drop_in_files(const std::string& directory)
{
    const std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(directory.c_str()), &::closedir);
    if (!dir) {
        if (errno == ENOENT) {
            return {};  // no drop-ins: the config file alone
        }
        throw ConfigError(directory + ": cannot read the drop-in directory: " +
                          std::strerror(errno));
    }
    std::vector<std::string> names;
    const std::string suffix = ".conf";
    errno = 0;
    while (const dirent* entry = ::readdir(dir.get())) {
        const std::string name = entry->d_name;
        if (name.front() != '.' && name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            names.push_back(name);
        }
        errno = 0;
    }
    if (errno != 0) {
        throw ConfigError(directory + ": cannot read the drop-in directory: " +
                          std::strerror(errno));
    }
    std::sort(names.begin(), names.end());  // std::string compares bytes, as the C locale
    for (std::string& name : names) {
        name = directory + "/" + name;
    }
    return names;
}

ConfigLines scan_config_lines(const std::string& text)
{
    ConfigLines found;
    std::istringstream in(text);
    std::string prefix;
    unsigned number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        line = trimmed(line.substr(0, line.find('#')));
        if (line.empty()) {
            continue;
        }
        if (line.front() == '[' && line.back() == ']') {
            prefix = line.substr(1, line.size() - 2);
            if (prefix.empty() || prefix.back() != '.') {
                prefix += '.';
            }
        } else if (const std::size_t equals = line.find('='); equals != std::string::npos) {
            found.keys[prefix + trimmed(line.substr(0, equals))].push_back(number);
        } else if (found.malformed == 0) {
            found.malformed = number;
        }
    }
    return found;
}

}  // namespace echod
