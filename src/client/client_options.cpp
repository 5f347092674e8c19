#include "client/client_options.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <iterator>

namespace echod {

const char* const client_usage =
    "Usage: echod-client [-46] [-t SECONDS] HOST PORT [MESSAGE]...\n"
    "  or:  echod-client [-46N] [-t SECONDS] -n COUNT [-s SIZE] [-i INTERVAL] HOST PORT\n";

const char* const client_help =
    "Send MESSAGE (its words joined by spaces, plus a newline) or else standard input to\n"
    "the echo server at HOST PORT, print the reply, and succeed only if it is identical.\n"
    "With -n, measure instead: COUNT round trips of SIZE bytes, each timed and checked\n"
    "byte for byte, then a summary like ping's.\n"
    "HOST is a name or an address ([::1] or ::1); PORT is a number from 1 to 65535.\n"
    "Options go before HOST.\n"
    "\n"
    "  -4, --ipv4              connect over IPv4 only\n"
    "  -6, --ipv6              connect over IPv6 only\n"
    "  -t, --timeout=SECONDS   give up when the server has owed a reply, or the close,\n"
    "                            for SECONDS (1 to 86400, default 5); waiting for\n"
    "                            standard input does not count; with -n, the bound on\n"
    "                            each connect and each round trip\n"
    "  -n, --count=COUNT       measure: COUNT round trips (1 to 1000000000)\n"
    "  -s, --size=SIZE         bytes per round trip (1 to 16777216, default 256)\n"
    "  -i, --interval=SECONDS  from the start of one round trip to the start of the\n"
    "                            next (0 to 86400, decimals allowed, default 1)\n"
    "  -N, --new-connection    a new connection for each round trip (its connect time\n"
    "                            is printed apart)\n"
    "  -h, --help              display this help and exit\n"
    "  -V, --version           output version information and exit\n"
    "\n"
    "Exit status: 0 every echo was identical; 1 an echo differed, was short or long or\n"
    "late, a connection failed or was reset (with -n: any round trip failed), or the\n"
    "input could not be read or the reply written out; 64 usage; 69 cannot resolve, or\n"
    "cannot connect (with -N: cannot resolve only); 71 a closed standard descriptor\n"
    "could not be opened on /dev/null.\n"
    "\n"
    "See echod-client(1).\n";

namespace {

struct OptionSpec {
    char short_name;
    const char* long_name;
    bool takes_value;
};

constexpr OptionSpec option_specs[] = {
    {'4', "ipv4", false},  {'6', "ipv6", false},          {'t', "timeout", true},
    {'n', "count", true},  {'s', "size", true},           {'i', "interval", true},
    {'N', "new-connection", false}, {'h', "help", false}, {'V', "version", false},
};

const OptionSpec* find_option(char short_name, const std::string& long_name)
{
    const auto found = std::find_if(std::begin(option_specs), std::end(option_specs),
                                    [&](const OptionSpec& spec) {
                                        return long_name.empty() ? spec.short_name == short_name
                                                                 : long_name == spec.long_name;
                                    });
    return found == std::end(option_specs) ? nullptr : found;
}

// Decimal digits only (no sign, no spaces, no 0x), from `low` to `high`.
bool parse_whole(const std::string& text, long low, long high, long& value)
{
    if (text.empty() || text.size() > 10 || text.find_first_not_of("0123456789") != std::string::npos) {
        return false;
    }
    const unsigned long long parsed = std::stoull(text);
    value = static_cast<long>(parsed);
    return parsed >= static_cast<unsigned long long>(low) &&
           parsed <= static_cast<unsigned long long>(high);
}

// Seconds as a plain decimal (2, 0.2, .5), to the microsecond, at most a day.
bool parse_seconds(const std::string& text, std::chrono::microseconds& value)
{
    const std::size_t dot = text.find('.');
    const std::string whole = text.substr(0, dot);
    const std::string fraction = dot == std::string::npos ? "" : text.substr(dot + 1);
    if ((whole.empty() && fraction.empty()) || whole.size() > 5 || fraction.size() > 6 ||
        whole.find_first_not_of("0123456789") != std::string::npos ||
        fraction.find_first_not_of("0123456789") != std::string::npos) {
        return false;
    }
    const long long seconds = whole.empty() ? 0 : std::stoll(whole);
    const long long micros =
        fraction.empty() ? 0 : std::stoll(fraction + std::string(6 - fraction.size(), '0'));
    value = std::chrono::microseconds(seconds * 1000000 + micros);
    return value <= std::chrono::hours(24);
}

// 1 to 65535 in decimal digits: getaddrinfo would take 65543 as 7 (it wraps) and a name
// from /etc/services.
bool valid_port(const std::string& port)
{
    long value = 0;
    return port.size() <= 5 && parse_whole(port, 1, 65535, value);
}

void apply_option(char name, const std::string& value, ClientOptions& options, std::string& given)
{
    given += name;
    MeasureSettings& measure = options.measure;
    long number = 0;
    switch (name) {
    case '4':
        options.family = AF_INET;
        return;
    case '6':
        options.family = AF_INET6;
        return;
    case 't':
        if (!parse_whole(value, 1, 86400, options.timeout_s)) {
            throw UsageError("-t wants whole seconds from 1 to 86400, not '" + value + "'");
        }
        return;
    case 'n':
        if (!parse_whole(value, 1, 1000000000, measure.count)) {
            throw UsageError("-n wants a count from 1 to 1000000000, not '" + value + "'");
        }
        return;
    case 's':
        if (!parse_whole(value, 1, 16 * 1024 * 1024, number)) {
            throw UsageError("-s wants a size in bytes from 1 to 16777216, not '" + value + "'");
        }
        measure.size = static_cast<std::size_t>(number);
        return;
    case 'i':
        if (!parse_seconds(value, measure.interval)) {
            throw UsageError("-i wants seconds from 0 to 86400 (decimals allowed: 0.2), not '" +
                             value + "'");
        }
        return;
    case 'N':
        measure.new_connection = true;
        return;
    case 'h':
        options.action = ClientOptions::Action::help;
        return;
    case 'V':
        options.action = ClientOptions::Action::version;
        return;
    }
}

// One argument that starts with "--": --name, --name=value or --name value.
void parse_long_option(const std::vector<std::string>& args, std::size_t& i, ClientOptions& options,
                       std::string& given)
{
    const std::string& arg = args[i];
    const std::size_t equals = arg.find('=');
    const std::string name = arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    const OptionSpec* spec = find_option('\0', name);
    if (spec == nullptr) {
        throw UsageError("unknown option '--" + name + "'");
    }
    if (!spec->takes_value && equals != std::string::npos) {
        throw UsageError("option '--" + name + "' takes no value");
    }
    std::string value;
    if (spec->takes_value && equals != std::string::npos) {
        value = arg.substr(equals + 1);
    } else if (spec->takes_value) {
        if (++i == args.size()) {
            throw UsageError("option '--" + name + "' needs a value");
        }
        value = args[i];
    }
    apply_option(spec->short_name, value, options, given);
}

// One argument of short options: -4, -4N, -n5, -n 5.
void parse_short_options(const std::vector<std::string>& args, std::size_t& i, ClientOptions& options,
                         std::string& given)
{
    const std::string& arg = args[i];
    for (std::size_t j = 1; j < arg.size(); ++j) {
        const OptionSpec* spec = find_option(arg[j], "");
        if (spec == nullptr) {
            throw UsageError(std::string("unknown option '-") + arg[j] + "'");
        }
        if (!spec->takes_value) {
            apply_option(spec->short_name, "", options, given);
            continue;
        }
        if (j + 1 < arg.size()) {
            apply_option(spec->short_name, arg.substr(j + 1), options, given);
        } else if (++i < args.size()) {
            apply_option(spec->short_name, args[i], options, given);
        } else {
            throw UsageError(std::string("option '-") + arg[j] + "' needs a value");
        }
        return;
    }
}

// -4 with an IPv6 address, or -6 with an IPv4 one, can only fail: say so before resolving.
void check_family(const ClientOptions& options, const std::string& given)
{
    in_addr v4{};
    in6_addr v6{};
    if (given.find('4') != std::string::npos && given.find('6') != std::string::npos) {
        throw UsageError("-4 and -6 exclude each other");
    }
    if (options.family == AF_INET && ::inet_pton(AF_INET6, options.host.c_str(), &v6) == 1) {
        throw UsageError("-4 (IPv4 only) and the IPv6 address '" + options.host +
                         "' exclude each other");
    }
    if (options.family == AF_INET6 && ::inet_aton(options.host.c_str(), &v4) != 0) {
        throw UsageError("-6 (IPv6 only) and the IPv4 address '" + options.host +
                         "' exclude each other");
    }
}

// -s, -i and -N shape measuring mode, which -n starts; MESSAGE belongs to the other mode.
void check_mode(ClientOptions& options, const std::string& given)
{
    if (options.measure.count == 0) {
        for (const char name : {'s', 'i', 'N'}) {
            if (given.find(name) != std::string::npos) {
                throw UsageError(std::string("-") + name + " is for measuring mode: give -n COUNT too");
            }
        }
        return;
    }
    if (!options.words.empty()) {
        throw UsageError("-n sends SIZE bytes of its own: no MESSAGE ('" + options.words[0] + "')");
    }
    options.action = ClientOptions::Action::measure;
}

}  // namespace

ClientOptions parse_client_options(const std::vector<std::string>& args)
{
    ClientOptions options;
    std::string given;  // the options seen, by short name
    std::size_t i = 0;
    for (; i < args.size() && args[i].size() > 1 && args[i][0] == '-'; ++i) {
        if (args[i] == "--") {
            ++i;
            break;
        }
        if (args[i].compare(0, 2, "--") == 0) {
            parse_long_option(args, i, options, given);
        } else {
            parse_short_options(args, i, options, given);
        }
    }
    if (options.action == ClientOptions::Action::help ||
        options.action == ClientOptions::Action::version) {
        return options;
    }
    if (args.size() < i + 2) {
        throw UsageError(args.size() == i ? "HOST and PORT are missing" : "PORT is missing");
    }
    options.host = args[i];
    if (options.host.size() > 2 && options.host.front() == '[' && options.host.back() == ']') {
        options.host = options.host.substr(1, options.host.size() - 2);  // [::1]
    }
    options.port = args[i + 1];
    if (!valid_port(options.port)) {
        throw UsageError("PORT must be a number from 1 to 65535, not '" + options.port + "'");
    }
    options.words.assign(args.begin() + static_cast<long>(i) + 2, args.end());
    check_family(options, given);
    check_mode(options, given);
    return options;
}

}  // namespace echod
