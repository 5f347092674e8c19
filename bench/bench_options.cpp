#include "bench_options.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

namespace bench {

const char* const usage_text =
    "Usage:\n"
    "  echod-bench rate   --port P [--host 127.0.0.1] --concurrency C [--size K]\n"
    "                     [--duration SECONDS] [--sources N] [--label NAME] [--warmup SECONDS]\n"
    "                     [--proxy-v2]\n"
    "  echod-bench stream --port P [--host 127.0.0.1] --connections P --bytes T [--label NAME]\n"
    "                     [--proxy-v2]\n"
    "  echod-bench hold   --port P [--host 127.0.0.1] --connections N [--server-pid PID]\n"
    "                     [--sources N] [--label NAME] [--proxy-v2]\n"
    "rate:   C clients each connect, send K bytes (default 64), read them back, close, again,\n"
    "        for SECONDS (default 5) after a warmup (default 0); latency percentiles.\n"
    "stream: P connections each send T bytes (suffix K, M, G: KiB, MiB, GiB) full duplex.\n"
    "hold:   open N connections, echo on each, measure the memory of the process tree of\n"
    "        PID, echo again, close.\n"
    "IPv4 clients bind to 127.0.0.2 .. 127.0.0.(1+N) (--sources, default 16); an IPv6 host\n"
    "(::1) uses no sources. --label names the server in the result (default 'server').\n"
    "--proxy-v2: every connection begins with a PROXY protocol v2 header (PROXY, TCP4 or\n"
    "TCP6, the connection's own addresses), sent with its first bytes as a balancer would\n"
    "send it, and not expected back: for echod with proxy_protocol = v2.\n"
    "Prints one 'RESULT key=value ...' line on stdout. Exit: 0 no errors, 1 errors (or the\n"
    "run could not be done), 64 usage.\n";

namespace {

constexpr unsigned in_rate = 1, in_stream = 2, in_hold = 4;

struct Flags {
    std::string host = "127.0.0.1";
    long port = -1;
};

[[noreturn]] void bad_value(const std::string& option, const std::string& value,
                            const std::string& expected)
{
    throw UsageError(option + " has value '" + value + "': expected " + expected);
}

long parse_integer(const std::string& option, const std::string& value, long min, long max)
{
    errno = 0;
    char* end = nullptr;
    const long number = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || errno != 0 || number < min || number > max ||
        !std::isdigit(static_cast<unsigned char>(value[0]))) {
        bad_value(option, value,
                  "an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return number;
}

double parse_seconds(const std::string& option, const std::string& value, double min)
{
    errno = 0;
    char* end = nullptr;
    const double seconds = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || errno != 0 || !(seconds >= min) || seconds > 86400 ||
        !std::isdigit(static_cast<unsigned char>(value[0]))) {
        bad_value(option, value, "seconds (a decimal number) up to 86400" +
                                     std::string(min > 0 ? ", above 0" : ""));
    }
    return seconds;
}

// A whole number of bytes, optionally with a binary suffix (K, M, G).
std::uint64_t parse_bytes(const std::string& option, const std::string& value)
{
    std::string digits = value;
    std::uint64_t unit = 1;
    const std::string suffixes = "KMG";
    const auto suffix =
        digits.empty() ? std::string::npos
                       : suffixes.find(static_cast<char>(std::toupper(digits.back())));
    if (suffix != std::string::npos) {
        unit = std::uint64_t{1} << (10 * (suffix + 1));
        digits.pop_back();
    }
    const long max = static_cast<long>((std::uint64_t{1} << 40) / unit);
    try {
        return static_cast<std::uint64_t>(parse_integer(option, digits, 1, max)) * unit;
    } catch (const UsageError&) {
        bad_value(option, value, "a byte count from 1 to 1T, optionally with K, M or G");
    }
}

std::string parse_label(const std::string& option, const std::string& value)
{
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isspace(u) || std::iscntrl(u)) {
            bad_value(option, value, "a name without spaces (it is a field of the RESULT line)");
        }
    }
    if (value.empty()) {
        bad_value(option, value, "a non-empty name");
    }
    return value;
}

pid_t parse_pid(const std::string& option, const std::string& value)
{
    const auto pid = static_cast<pid_t>(parse_integer(option, value, 1, 4194304));
    struct stat info {};
    if (::stat(("/proc/" + value).c_str(), &info) != 0) {
        bad_value(option, value, "the pid of a running process");
    }
    return pid;
}

Mode parse_mode(const std::string& word)
{
    if (word == "rate") {
        return Mode::rate;
    }
    if (word == "stream") {
        return Mode::stream;
    }
    if (word == "hold") {
        return Mode::hold;
    }
    throw UsageError("unknown mode '" + word + "': expected rate, stream or hold");
}

unsigned mode_bit(Mode mode)
{
    return mode == Mode::rate ? in_rate : mode == Mode::stream ? in_stream : in_hold;
}

// Applies one option; modes_of has already accepted the name.
void apply(Options& o, Flags& f, const std::string& name, const std::string& value)
{
    if (name == "--port") {
        f.port = parse_integer(name, value, 1, 65535);
    } else if (name == "--host") {
        f.host = value;
    } else if (name == "--label") {
        o.label = parse_label(name, value);
    } else if (name == "--concurrency") {
        o.concurrency = static_cast<int>(parse_integer(name, value, 1, 1000000));
    } else if (name == "--size") {
        o.size = static_cast<std::uint64_t>(parse_integer(name, value, 1, 1 << 30));
    } else if (name == "--duration") {
        o.duration_s = parse_seconds(name, value, 0.001);
    } else if (name == "--warmup") {
        o.warmup_s = parse_seconds(name, value, 0);
    } else if (name == "--sources") {
        o.sources = static_cast<int>(parse_integer(name, value, 1, 253));
    } else if (name == "--connections") {
        o.connections = static_cast<int>(parse_integer(name, value, 1, 1000000));
    } else if (name == "--bytes") {
        o.bytes = parse_bytes(name, value);
    } else if (name == "--server-pid") {
        o.server_pid = parse_pid(name, value);
    } else if (name == "--proxy-v2") {
        o.proxy_v2 = true;
    }
}

// An option that is given alone, without a value.
bool is_switch(const std::string& name)
{
    return name == "--proxy-v2";
}

unsigned modes_of(const std::string& name)
{
    if (name == "--port" || name == "--host" || name == "--label" || name == "--proxy-v2") {
        return in_rate | in_stream | in_hold;
    }
    if (name == "--concurrency" || name == "--size" || name == "--duration" || name == "--warmup") {
        return in_rate;
    }
    if (name == "--sources") {
        return in_rate | in_hold;
    }
    if (name == "--connections") {
        return in_stream | in_hold;
    }
    if (name == "--bytes") {
        return in_stream;
    }
    if (name == "--server-pid") {
        return in_hold;
    }
    return 0;
}

void require(const std::set<std::string>& seen, const std::string& name, const char* mode)
{
    if (seen.count(name) == 0) {
        throw UsageError(std::string(mode) + " needs " + name);
    }
}

void check_required(Mode mode, const std::set<std::string>& seen)
{
    require(seen, "--port", mode == Mode::rate ? "rate" : mode == Mode::stream ? "stream" : "hold");
    if (mode == Mode::rate) {
        require(seen, "--concurrency", "rate");
    } else if (mode == Mode::stream) {
        require(seen, "--connections", "stream");
        require(seen, "--bytes", "stream");
    } else {
        require(seen, "--connections", "hold");
    }
}

}  // namespace

bool wants_help(int argc, char* argv[])
{
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            return true;
        }
    }
    return false;
}

Options parse_options(int argc, char* argv[])
{
    if (argc < 2) {
        throw UsageError("no mode given: expected rate, stream or hold");
    }
    Options options;
    options.mode = parse_mode(argv[1]);
    Flags flags;
    std::set<std::string> seen;
    for (int i = 2; i < argc; ++i) {
        std::string name = argv[i];
        std::string value;
        const auto equals = name.find('=');
        if (equals != std::string::npos) {
            value = name.substr(equals + 1);
            name.erase(equals);
            if (is_switch(name)) {
                throw UsageError(name + " takes no value");
            }
        } else if (is_switch(name)) {
            // nothing to take: the next argument is an option of its own
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else if (modes_of(name) != 0) {
            throw UsageError(name + " needs a value");
        }
        if ((modes_of(name) & mode_bit(options.mode)) == 0) {
            throw UsageError("unknown option '" + name + "' for mode " + argv[1]);
        }
        if (!seen.insert(name).second) {
            throw UsageError(name + " is given twice");
        }
        apply(options, flags, name, value);
    }
    check_required(options.mode, seen);
    try {
        options.target = make_target(flags.host, static_cast<int>(flags.port));
    } catch (const std::invalid_argument&) {
        bad_value("--host", flags.host, "a numeric IPv4 or IPv6 address");
    }
    return options;
}

}  // namespace bench
