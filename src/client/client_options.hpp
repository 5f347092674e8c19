// echod-client's command line, parsed into a plain struct before anything else runs.
#pragma once

#include "client/measure.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace echod {

struct ClientOptions {
    enum class Action { echo, measure, help, version };
    Action action = Action::echo;
    long timeout_s = 5;
    int family = 0;  // AF_UNSPEC, or AF_INET (-4) or AF_INET6 (-6)
    std::string host;
    std::string port;
    std::vector<std::string> words;  // MESSAGE
    MeasureSettings measure;         // count > 0: measuring mode (-n)
};

// A command line that cannot be run; what() says what was wrong.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Options come before HOST (a MESSAGE word may start with '-'), short or long, GNU style:
// -n5, -n 5, --count=5, --count 5, -4N. Throws UsageError.
ClientOptions parse_client_options(const std::vector<std::string>& args);

extern const char* const client_usage;  // the synopsis: a usage error's, and --help's start
extern const char* const client_help;   // the rest of --help

}  // namespace echod
