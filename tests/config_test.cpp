// Config parsing and validation, without starting the daemon.
#define BOOST_TEST_MODULE config
#include "common/child_report.hpp"
#include "daemon/config.hpp"
#include "daemon/exit_codes.hpp"
#include "harness.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace echod;
using echod::test::TempDir;

namespace {

CommandLine command_line(std::vector<std::string> args)
{
    std::vector<const char*> argv{"echod"};
    for (const std::string& arg : args) {
        argv.push_back(arg.c_str());
    }
    return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

Config load(const std::string& path, std::vector<std::string> args = {})
{
    args.insert(args.begin(), {"--config", path});
    return load_config(command_line(args));
}

// Loads `content` and returns the ConfigError message (fails if it loads).
std::string error_of(const std::string& content, std::vector<std::string> args = {})
{
    TempDir dir;
    const std::string path = dir.write("echod.conf", content);
    try {
        load(path, args);
    } catch (const ConfigError& e) {
        return e.what();
    }
    BOOST_FAIL("accepted: " << content);
    return "";
}

std::vector<std::string> lines_of(const std::string& path)
{
    std::ifstream file(path);
    BOOST_REQUIRE_MESSAGE(file, "cannot read " << path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(file, line);) {
        lines.push_back(line);
    }
    return lines;
}

// The lines after the one that is `heading`, up to the next one starting with `next`.
std::vector<std::string> section(const std::vector<std::string>& lines,
                                 const std::string& heading, const std::string& next)
{
    auto begin = std::find(lines.begin(), lines.end(), heading);
    BOOST_REQUIRE_MESSAGE(begin != lines.end(), "no line '" << heading << "'");
    ++begin;
    const auto end = std::find_if(begin, lines.end(), [&](const std::string& line) {
        return line.rfind(next, 0) == 0;
    });
    return {begin, end};
}

// What a document says about keys: every name it presents as a key, and those among them
// spelled the way an entry for a key must be.
struct Listed {
    std::set<std::string> any;
    std::set<std::string> entries;
};

void add_matches(Listed& listed, const std::string& text, const std::regex& any,
                 const std::regex& entry)
{
    for (std::sregex_iterator it(text.begin(), text.end(), any), end; it != end; ++it) {
        listed.any.insert((*it)[1]);
    }
    for (std::sregex_iterator it(text.begin(), text.end(), entry), end; it != end; ++it) {
        listed.entries.insert((*it)[1]);
    }
}

// An entry is `#key = default` at the start of a line (`#key =` when the default is
// empty); any other line that looks like a setting (`# name=value`) must name a key too.
Listed sample_config_keys()
{
    const std::regex setting(R"(^#?\s*([A-Za-z_][\w.-]*)\s*=)");
    const std::regex entry(R"(^#([a-z0-9_]+) =( |$))");
    Listed listed;
    for (const std::string& line : lines_of(ECHOD_SOURCE_DIR "/config/echod.conf")) {
        add_matches(listed, line, setting, entry);
    }
    return listed;
}

// In the KEYS section, each entry is `.TP` then `.BI "key = " what`; the line after any
// other `.TP` there is taken whole, as an entry that names no key.
Listed man_page_keys()
{
    const auto lines = section(lines_of(ECHOD_SOURCE_DIR "/man/echod.conf.5"), ".SH KEYS", ".SH");
    const std::regex entry(R"(^\.BI "([a-z0-9_]+) = ")");
    Listed listed;
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
        std::smatch match;
        if (lines[i] != ".TP") {
            continue;
        }
        if (std::regex_search(lines[i + 1], match, entry)) {
            listed.entries.insert(match[1]);
            listed.any.insert(match[1]);
        } else {
            listed.any.insert(lines[i + 1]);
        }
    }
    return listed;
}

// The README's short key table: rows that start with a key in backquotes.
Listed readme_keys()
{
    const std::regex row(R"(^\| `([^`]+)` \|)");
    Listed listed;
    for (const std::string& line :
         section(lines_of(ECHOD_SOURCE_DIR "/README.md"), "## Configuration", "## ")) {
        add_matches(listed, line, row, row);
    }
    return listed;
}

// What format_config prints, without its comments (the files read).
std::string settings_of(const Config& config)
{
    std::istringstream in(format_config(config));
    std::string settings;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind('#', 0) != 0) {
            settings += line + "\n";
        }
    }
    return settings;
}

Listed help_options()
{
    Listed listed;
    const std::regex option(R"(--([A-Za-z][\w-]*))");
    add_matches(listed, usage_text(), option, option);
    return listed;
}

// The one-letter options --help names: "-c [ --config ]", or "-c, --config".
std::set<std::string> help_short_options()
{
    const std::string text = usage_text();
    const std::regex option(R"((?:^|\s)-([A-Za-z])(?=[\s,\[]))");
    std::set<std::string> found;
    for (std::sregex_iterator it(text.begin(), text.end(), option), end; it != end; ++it) {
        found.insert((*it)[1]);
    }
    return found;
}

// A section of echod(8) as one text, with roff's escaped minus (\-) as a plain '-'.
std::string echod_8_section(const std::string& heading)
{
    std::string text;
    for (const std::string& line :
         section(lines_of(ECHOD_SOURCE_DIR "/man/echod.8"), heading, ".SH")) {
        text += std::regex_replace(line, std::regex(R"(\\-)"), "-") + "\n";
    }
    return text;
}

// Whether `text` has `option` (such as "--port" or "-c") as a whole word.
bool mentions_option(const std::string& text, const std::string& option)
{
    return std::regex_search(text, std::regex("(^|[^\\w-])" + option + "($|[^\\w-])"));
}

// The entries of echod(8)'s EXIT STATUS: `.TP` then `.B N`.
std::set<int> man_page_exit_entries(const std::vector<std::string>& lines)
{
    const std::regex entry(R"(^\.B ([0-9]+)$)");
    std::set<int> found;
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
        std::smatch match;
        if (lines[i] == ".TP" && std::regex_match(lines[i + 1], match, entry)) {
            found.insert(std::stoi(match[1]));
        }
    }
    return found;
}

// Every key has an entry in `where`, and `where` presents nothing else as a key (but the
// names in `also`).
void check_lists_the_keys(const std::string& where, const Listed& listed,
                          const std::set<std::string>& also = {})
{
    const std::vector<std::string> keys = config_key_names();
    for (const std::string& key : keys) {
        BOOST_TEST(listed.entries.count(key) == 1u,
                   where << " has no entry for key '" << key << "'");
    }
    for (const std::string& name : listed.any) {
        const bool known = std::count(keys.begin(), keys.end(), name) > 0 || also.count(name) > 0;
        BOOST_TEST(known, where << " lists '" << name << "', which is not a config key"
                                << (also.empty() ? "" : " nor a command option"));
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(empty_file_gives_the_documented_defaults)
{
    TempDir dir;
    const Config config = load(dir.write("echod.conf", "# nothing set\n"));
    BOOST_TEST(config.port == 7);
    BOOST_TEST(config.backlog == 511);
    BOOST_TEST(config.default_addresses);
    BOOST_TEST((config.addresses == std::vector<std::string>{"0.0.0.0", "::"}));
    BOOST_TEST(config.max_children == 256u);
    BOOST_TEST(config.max_per_source == 32u);
    BOOST_TEST(config.idle_timeout.count() == 60000);
    BOOST_TEST(config.stall_timeout.count() == 30000);
    BOOST_TEST(config.shutdown_timeout.count() == 10000);
    BOOST_TEST((config.log_level == LogLevel::info));
    BOOST_TEST((config.mode == Mode::fork));
    BOOST_TEST(config.min_spare_children == 5u);
    BOOST_TEST(config.max_spare_children == 20u);
    BOOST_TEST(config.max_connections_per_child == 1u);
    BOOST_TEST((config.proxy_protocol == ProxyProtocol::off));
    BOOST_TEST(config.proxy_trusted.empty());
    BOOST_TEST(config.proxy_timeout.count() == 3000);
    BOOST_TEST(config.allow.empty());
    BOOST_TEST(config.deny.empty());
    BOOST_TEST(config.rate_per_source == 0u);
    BOOST_TEST(!config.udp);
    BOOST_TEST(config.udp_rate_per_source == 10u);
}

// The sample sets nothing: each key is shown commented out with its default, so that a
// default changed in a later release reaches a host that kept the file. Uncommented, the
// lines give the defaults again: what they show is true.
BOOST_AUTO_TEST_CASE(sample_config_is_valid_sets_nothing_and_shows_the_defaults)
{
    const std::vector<std::string> lines = lines_of(ECHOD_SOURCE_DIR "/config/echod.conf");
    std::string uncommented;
    for (const std::string& line : lines) {
        BOOST_TEST((line.empty() || line[0] == '#'), "not commented out: " << line);
        if (std::regex_search(line, std::regex(R"(^#[a-z0-9_]+ =( |$))"))) {
            uncommented += line.substr(1) + "\n";
        }
    }
    TempDir dir;
    const Config defaults = load(dir.write("echod.conf", ""));
    const Config sample = load(ECHOD_SOURCE_DIR "/config/echod.conf");
    BOOST_TEST(settings_of(sample) == settings_of(defaults));
    const Config shown = load(dir.write("shown.conf", uncommented));
    BOOST_TEST(settings_of(shown) == settings_of(defaults), uncommented);
}

BOOST_AUTO_TEST_CASE(file_values_apply_and_the_command_line_wins)
{
    TempDir dir;
    const std::string path = dir.write("echod.conf",
                                       "port = 7007\nbacklog = 50\naddress = 127.0.0.1\n"
                                       "address = ::1, 127.0.0.2\nidle_timeout = 500ms\n"
                                       "stall_timeout = 2m\nshutdown_timeout = 3\n"
                                       "log_level = debug\nmax_per_source = 0\n");
    const Config config = load(path);
    BOOST_TEST(config.port == 7007);
    BOOST_TEST(config.backlog == 50);
    BOOST_TEST(!config.default_addresses);
    BOOST_TEST((config.addresses == std::vector<std::string>{"127.0.0.1", "::1", "127.0.0.2"}));
    BOOST_TEST((load(path, {"--address", "::1", "--address", "[::1]"}).addresses ==
                std::vector<std::string>{"::1"}));  // one spelling; a repeat is used once
    BOOST_TEST((load(path, {"--address", "0:0::0:1"}).addresses == std::vector<std::string>{"::1"}));
    BOOST_TEST(config.idle_timeout.count() == 500);
    BOOST_TEST(config.stall_timeout.count() == 120000);
    BOOST_TEST(config.shutdown_timeout.count() == 3000);
    BOOST_TEST((config.log_level == LogLevel::debug));
    BOOST_TEST(config.max_per_source == 0u);

    const Config overridden = load(path, {"--port", "9", "--address", "::1", "--backlog=7"});
    BOOST_TEST(overridden.port == 9);
    BOOST_TEST(overridden.backlog == 7);
    BOOST_TEST((overridden.addresses == std::vector<std::string>{"::1"}));
    BOOST_TEST(overridden.idle_timeout.count() == 500);  // from the file still
}

BOOST_AUTO_TEST_CASE(effective_settings_read_back_identically)
{
    TempDir dir;
    const Config config = load(dir.write("a.conf", "port = 1234\naddress = ::1\n"
                                                   "idle_timeout = 1500ms\nlog_level = warning\n"
                                                   "mode = prefork\nmin_spare_children = 2\n"
                                                   "max_spare_children = 3\n"
                                                   "max_connections_per_child = 0\n"));
    BOOST_TEST((config.mode == Mode::prefork));
    BOOST_TEST(config.max_connections_per_child == 0u);
    const Config again = load(dir.write("b.conf", format_config(config)));
    BOOST_TEST(settings_of(again) == settings_of(config));
}

struct BadValue {
    const char* content;
    unsigned line;
    const char* key;
    const char* value;
    const char* expected;
};

BOOST_AUTO_TEST_CASE(bad_values_name_file_key_value_and_expectation)
{
    const BadValue cases[] = {
        {"port = 70000\n", 1, "port", "70000", "from 0 to 65535"},
        {"port = 65536\n", 1, "port", "65536", "from 0 to 65535"},
        {"port = -1\n", 1, "port", "-1", "integer"},
        {"port = seven\n", 1, "port", "seven", "integer"},
        {"port = 7x\n", 1, "port", "7x", "integer"},
        {"port =\n", 1, "port", "", "integer"},
        {"backlog = 0\n", 1, "backlog", "0", "from 1 to 65535"},
        {"backlog = 99999999999999999999999\n", 1, "backlog", "99999999999999999999999", "integer"},
        {"max_children = 0\n", 1, "max_children", "0", "from 1"},
        {"max_per_source = 1e3\n", 1, "max_per_source", "1e3", "integer"},
        {"idle_timeout = 5 parsecs\n", 1, "idle_timeout", "5 parsecs", "duration"},
        {"stall_timeout = -3s\n", 1, "stall_timeout", "-3s", "duration"},
        {"shutdown_timeout = 8d\n", 1, "shutdown_timeout", "8d", "duration"},
        {"shutdown_timeout = 169h\n", 1, "shutdown_timeout", "169h", "at most 7 days"},
        {"log_level = loud\n", 1, "log_level", "loud", "debug, info"},
        {"mode = threads\n", 1, "mode", "threads", "expected fork or prefork"},
        {"mode = Prefork\n", 1, "mode", "Prefork", "expected fork or prefork"},
        {"min_spare_children = 0\n", 1, "min_spare_children", "0", "from 1"},
        {"max_spare_children = 100001\n", 1, "max_spare_children", "100001", "from 1 to 100000"},
        {"max_connections_per_child = -1\n", 1, "max_connections_per_child", "-1", "integer"},
        {"mode = prefork\nmin_spare_children = 8\nmax_spare_children = 4\n", 3,
         "max_spare_children", "4", "at least min_spare_children (8)"},
        {"address = localhost\n", 1, "address", "localhost", "numeric"},
        {"address = 999.1.1.1\n", 1, "address", "999.1.1.1", "numeric"},
        {"user = no-such-user-echod\n", 1, "user", "no-such-user-echod", "no such user"},
        {"proxy_protocol = v3\n", 1, "proxy_protocol", "v3", "expected off, v1, v2 or any"},
        {"proxy_protocol = V1\n", 1, "proxy_protocol", "V1", "expected off, v1, v2 or any"},
        {"proxy_protocol = on\n", 1, "proxy_protocol", "on", "expected off, v1, v2 or any"},
        {"proxy_trusted = balancer.example\n", 1, "proxy_trusted", "balancer.example",
         "not a numeric IPv4 or IPv6 address"},
        {"proxy_timeout = soon\n", 1, "proxy_timeout", "soon", "duration"},
        {"allow = 192.0.2.1/24\n", 1, "allow", "192.0.2.1/24",
         "expected address ranges (CIDR): item 1, '192.0.2.1/24': bits are set after the "
         "first 24; write 192.0.2.0/24 for the network, or 192.0.2.1/32 for the one host"},
        {"allow = 192.0.2.0/24, 2001:db8::/33x\n", 1, "allow", "192.0.2.0/24, 2001:db8::/33x",
         "item 2, '2001:db8::/33x': the prefix length '33x' is not a decimal number"},
        {"deny = 10.0.0.0/8,\n", 1, "deny", "10.0.0.0/8,", "item 2 is empty"},
        {"deny = 10.0.0.0/33\n", 1, "deny", "10.0.0.0/33", "more than 32 (IPv4)"},
        {"deny = fe80::1%eth0\n", 1, "deny", "fe80::1%eth0", "a zone (%eth0) cannot be given"},
        {"rate_per_source = 1000001\n", 1, "rate_per_source", "1000001", "from 0 to 1000000"},
        {"rate_per_source = -5\n", 1, "rate_per_source", "-5", "integer"},
        {"rate_burst = 0\n", 1, "rate_burst", "0", "from 1 to 1000000"},
        {"rate_burst = 1000001\n", 1, "rate_burst", "1000001", "from 1 to 1000000"},
        {"udp_rate_per_source = 1000001\n", 1, "udp_rate_per_source", "1000001",
         "from 0 to 1000000"},
        {"user = root\ngroup = no-such-group-echod\n", 2, "group", "no-such-group-echod",
         "no such group"},
    };
    for (const BadValue& c : cases) {
        BOOST_TEST_CONTEXT(c.content)
        {
            const std::string message = error_of(c.content);
            BOOST_TEST(message.find("echod.conf:" + std::to_string(c.line) + ": key '" +
                                    c.key + "' has value '" + c.value + "'") != std::string::npos,
                       message);
            BOOST_TEST(message.find(c.expected) != std::string::npos, message);
        }
    }
}

BOOST_AUTO_TEST_CASE(malformed_files_name_the_file_and_the_problem)
{
    const std::pair<std::string, const char*> cases[] = {
        {"prot = 7\n", "unknown key 'prot'"},
        {"port = 7\nport = 8\n", "key 'port' is set more than once"},
        {"[server]\nport = 7\n", "unknown key 'server.port'"},
        {"this is not a setting\n", "a line is not 'key = value': 'this is not a setting'"},
        {std::string("\x7f" "ELF\x01\x02\n\x00\x00 junk\n", 16),
         "a line is not 'key = value': '\\x7fELF\\x01\\x02'"},
    };
    for (const auto& [content, expected] : cases) {
        BOOST_TEST_CONTEXT(content)
        {
            const std::string message = error_of(content);
            BOOST_TEST(message.find("echod.conf") != std::string::npos, message);
            BOOST_TEST(message.find(expected) != std::string::npos, message);
        }
    }
}

BOOST_AUTO_TEST_CASE(missing_file_and_directory_are_errors)
{
    TempDir dir;
    BOOST_CHECK_EXCEPTION(load(dir.path() + "/absent.conf"), ConfigError, [](const ConfigError& e) {
        return std::string(e.what()).find("absent.conf: cannot read the config file: No such file") !=
               std::string::npos;
    });
    BOOST_CHECK_EXCEPTION(load(dir.path()), ConfigError, [](const ConfigError& e) {
        return std::string(e.what()).find("not a regular file") != std::string::npos;
    });
}

BOOST_AUTO_TEST_CASE(command_line_values_are_checked_and_named)
{
    TempDir dir;
    const std::string path = dir.write("echod.conf", "port = 7\n");
    BOOST_CHECK_EXCEPTION(load(path, {"--port", "99999"}), ConfigError, [](const ConfigError& e) {
        return std::string(e.what()) ==
               "command line: key 'port' has value '99999': expected an integer from 0 to 65535";
    });
    BOOST_CHECK_THROW(command_line({"--no-such-option"}), UsageError);
    BOOST_CHECK_THROW(command_line({"--port"}), UsageError);
    BOOST_CHECK_THROW(command_line({"stray-argument"}), UsageError);
}

BOOST_AUTO_TEST_CASE(actions_come_from_the_command_line)
{
    BOOST_TEST((command_line({}).action == CommandLine::Action::run));
    BOOST_TEST((command_line({"--help"}).action == CommandLine::Action::help));
    BOOST_TEST((command_line({"-V"}).action == CommandLine::Action::version));
    BOOST_TEST((command_line({"-t"}).action == CommandLine::Action::check_config));
    BOOST_TEST(command_line({}).config_path == "/etc/echod/echod.conf");
}

// A key is declared once, in config_keys.cpp's table; the documents that list the keys are
// checked against it, so a key added there and forgotten elsewhere fails here.
BOOST_AUTO_TEST_CASE(every_key_is_documented_and_nothing_else_is)
{
    check_lists_the_keys("config/echod.conf", sample_config_keys());
    check_lists_the_keys("man/echod.conf.5 (KEYS)", man_page_keys());
    check_lists_the_keys("usage_text()", help_options(),
                         {"help", "version", "config", "check-config", "quiet", "reload"});
}

// The README keeps a short table of the keys used most, and points to echod.conf(5) for
// the rest: what it lists must be keys, spelled as they are.
BOOST_AUTO_TEST_CASE(the_readme_key_table_names_only_keys)
{
    const Listed listed = readme_keys();
    BOOST_TEST(!listed.any.empty(), "README.md (Configuration) has no key table");
    const std::vector<std::string> keys = config_key_names();
    for (const std::string& name : listed.any) {
        BOOST_TEST(std::count(keys.begin(), keys.end(), name) == 1,
                   "README.md (Configuration) lists '" << name << "', which is not a config key");
    }
}

// echod(8) is the reference for the command line: every option --help prints, long and
// short, is in its OPTIONS section.
BOOST_AUTO_TEST_CASE(echod_8_lists_every_option_of_help)
{
    const std::string options = echod_8_section(".SH OPTIONS");
    for (const std::string& name : help_options().entries) {
        BOOST_TEST(mentions_option(options, "--" + name),
                   "man/echod.8 (OPTIONS) does not mention --" << name);
    }
    const std::set<std::string> short_options = help_short_options();
    BOOST_TEST(short_options.size() >= 5u, "--help names too few one-letter options");
    for (const std::string& name : short_options) {
        BOOST_TEST(mentions_option(options, "-" + name),
                   "man/echod.8 (OPTIONS) does not mention -" << name);
    }
}

// Every status echod exits with is an entry of echod(8)'s EXIT STATUS, and nothing else
// is; each status a child exits with (which the master reads) is named there too.
BOOST_AUTO_TEST_CASE(echod_8_lists_every_exit_status)
{
    const auto lines =
        section(lines_of(ECHOD_SOURCE_DIR "/man/echod.8"), ".SH EXIT STATUS", ".SH");
    std::set<int> codes(std::begin(exit_status::all), std::end(exit_status::all));
    BOOST_TEST(man_page_exit_entries(lines) == codes, boost::test_tools::per_element());
    std::string text;
    for (const std::string& line : lines) {
        text += line + "\n";
    }
    const std::size_t child_part = text.find("A child exits");
    BOOST_TEST_REQUIRE(child_part != std::string::npos, "man/echod.8 (EXIT STATUS): no 'A child exits'");
    const std::string children = text.substr(child_part);
    for (int code : {child_reported, child_report_failed, child_setup_failed}) {
        BOOST_TEST(std::regex_search(children, std::regex("\\b" + std::to_string(code) + "\\b")),
                   "man/echod.8 (EXIT STATUS) does not name the child exit status " << code);
    }
}

// Some editors (Notepad among them) start a UTF-8 file with a byte-order mark. It is not
// part of the first key, which was reported as unknown with an invisible character.
BOOST_AUTO_TEST_CASE(a_utf8_byte_order_mark_at_the_start_is_skipped)
{
    TempDir dir;
    const Config config = load(dir.write("echod.conf", "\xef\xbb\xbfport = 7007\nbacklog = 9\n"));
    BOOST_TEST(config.port == 7007);
    BOOST_TEST(config.backlog == 9);
    // Only at the start: anywhere else it is part of a key, shown as what it is.
    const std::string message = error_of("port = 7\n\xef\xbb\xbf" "backlog = 9\n");
    BOOST_TEST(message.find(":2: unknown key '\xef\xbb\xbf" "backlog'") != std::string::npos,
               message);
}

// Boost guesses an option from a prefix by default ("--po" for --port); a typo or a future
// key's prefix would then silently set another key. Only whole names work, spelled with
// underscores as in the file or with dashes.
BOOST_AUTO_TEST_CASE(only_whole_option_names_work_and_dashes_may_replace_underscores)
{
    BOOST_CHECK_THROW(command_line({"--po", "9"}), UsageError);
    BOOST_CHECK_THROW(command_line({"--mo", "prefork"}), UsageError);
    BOOST_CHECK_THROW(command_line({"--max-child", "9"}), UsageError);
    BOOST_CHECK_THROW(command_line({"--check"}), UsageError);
    BOOST_TEST((command_line({"--max-children", "9"}).overrides.at("max_children") ==
                std::vector<std::string>{"9"}));
    BOOST_TEST((command_line({"--max-per-source=3"}).overrides.at("max_per_source") ==
                std::vector<std::string>{"3"}));
    BOOST_TEST((command_line({"--max_children", "9"}).overrides.at("max_children") ==
                std::vector<std::string>{"9"}));
    // Both spellings are one option: given twice, as any key twice, a usage error.
    BOOST_CHECK_THROW(command_line({"--max_children", "9", "--max-children", "8"}), UsageError);
    BOOST_TEST((command_line({"--check-config"}).action == CommandLine::Action::check_config));

    TempDir dir;
    const std::string path = dir.write("echod.conf", "port = 7\n");
    const Config config = load(path, {"--idle-timeout", "5s", "--max-connections-per-child=3"});
    BOOST_TEST(config.idle_timeout.count() == 5000);
    BOOST_TEST(config.max_connections_per_child == 3u);
    // The file keeps one spelling.
    BOOST_TEST(error_of("max-children = 5\n").find(":1: unknown key 'max-children'") !=
               std::string::npos);
}

// A check across keys names the key the user set, where it was set: the command line, or
// the file's line. Spares are checked in prefork mode only, where they mean something.
BOOST_AUTO_TEST_CASE(cross_key_errors_name_the_key_and_the_source_the_user_set)
{
    TempDir dir;
    const std::string plain = dir.write("plain.conf", "port = 7\n");
    BOOST_CHECK_EXCEPTION(load(plain, {"--group", "root"}), ConfigError, [](const ConfigError& e) {
        return std::string(e.what()) ==
               "command line: key 'group' has value 'root': it needs 'user' as well";
    });
    const std::pair<std::string, std::string> cases[] = {
        {"port = 7\ngroup = root\n", "echod.conf:2: key 'group' has value 'root': it needs "
                                     "'user' as well"},
        {"mode = prefork\nmin_spare_children = 30\n",
         "echod.conf:2: key 'min_spare_children' has value '30': expected at most "
         "max_spare_children (20)"},
        {"mode = prefork\nmax_spare_children = 3\n",
         "echod.conf:2: key 'max_spare_children' has value '3': expected at least "
         "min_spare_children (5)"},
        {"max_spare_children = 4\nmin_spare_children = 8\nmode = prefork\n",
         "echod.conf:2: key 'min_spare_children' has value '8': expected at most "
         "max_spare_children (4)"},
        {"port = 7\nproxy_protocol = any\n",
         "echod.conf:2: key 'proxy_protocol' has value 'any': it needs 'proxy_trusted' as "
         "well: the balancers' addresses"},
        // An empty line adds no balancer.
        {"proxy_trusted =\nproxy_protocol = v1\n",
         "echod.conf:2: key 'proxy_protocol' has value 'v1': it needs 'proxy_trusted' as "
         "well: the balancers' addresses"},
    };
    for (const auto& [content, expected] : cases) {
        BOOST_TEST_CONTEXT(content)
        {
            const std::string message = error_of(content);
            BOOST_TEST(message.size() >= expected.size());
            BOOST_TEST(message.substr(message.size() - std::min(message.size(), expected.size())) ==
                       expected);
        }
    }
    // The later source wins the blame: the command line is applied after the file.
    const std::string spares = dir.write("spares.conf", "mode = prefork\nmin_spare_children = 8\n");
    BOOST_CHECK_EXCEPTION(load(spares, {"--max_spare_children", "4"}), ConfigError,
                          [](const ConfigError& e) {
                              return std::string(e.what()).rfind(
                                         "command line: key 'max_spare_children' has value '4'",
                                         0) == 0;
                          });
    // Fork mode has no spares: their settings are kept, unchecked, for a later prefork.
    const std::string fork_mode = dir.write("fork.conf", "min_spare_children = 30\n");
    BOOST_TEST(load(fork_mode).min_spare_children == 30u);
    BOOST_CHECK_EXCEPTION(load(fork_mode, {"--mode", "prefork"}), ConfigError,
                          [](const ConfigError& e) {
                              return std::string(e.what()).find(
                                         "fork.conf:1: key 'min_spare_children' has value '30'") !=
                                     std::string::npos;
                          });
}

// Boost.Program_options says which key is wrong, not where; echod finds the line.
BOOST_AUTO_TEST_CASE(file_errors_name_their_line)
{
    const std::pair<std::string, std::string> cases[] = {
        {"port = 7\n\n# a comment\nprot = 8\n", "echod.conf:4: unknown key 'prot'"},
        {"port = 7\r\nprot = 8\r\n", "echod.conf:2: unknown key 'prot'"},
        {"port = 7\n[server]\nport = 7\n", "echod.conf:3: unknown key 'server.port'"},
        {"port = 7\nbacklog = 5\n  port=8  # again\n",
         "echod.conf:3: key 'port' is set more than once, first on line 1"},
        {"port = 7\n\nthis is not a setting\nnor this\n",
         "echod.conf:3: a line is not 'key = value': 'this is not a setting'"},
        {"# a\n= 5\n", "echod.conf:2: a line has no key before its '='"},
        {"port = 7\nbacklog = 0\n", "echod.conf:2: key 'backlog' has value '0'"},
        {"address = ::1\naddress = 127.0.0.1, localhost\n",
         "echod.conf:2: key 'address' has value 'localhost'"},
        {"\xef\xbb\xbf# a\nport = x\n", "echod.conf:2: key 'port' has value 'x'"},
        {"allow = 192.0.2.0/24\nport = 7\nallow = 198.51.100.0/24, 2001:db8::1/64\n",
         "echod.conf:3: key 'allow' has value '198.51.100.0/24, 2001:db8::1/64': expected "
         "address ranges (CIDR): item 2, '2001:db8::1/64': bits are set after the first 64"},
    };
    for (const auto& [content, expected] : cases) {
        BOOST_TEST_CONTEXT(content)
        {
            const std::string message = error_of(content);
            BOOST_TEST(message.find("/" + expected) != std::string::npos, message);
        }
    }
}

// IPv4 is a dotted quad: getaddrinfo also took inet_aton's legacy forms, so 127.0.0.010
// listened on 127.0.0.8 (octal), 127.1 and 2130706433 on 127.0.0.1, 1 on 0.0.0.1.
BOOST_AUTO_TEST_CASE(ipv4_addresses_are_dotted_quads)
{
    for (const char* legacy : {"127.0.0.010", "127.1", "2130706433", "1", "0x7f.0.0.1", "127.0.1",
                               "0177.0.0.1", " 127.0.0.1x"}) {
        BOOST_TEST_CONTEXT(legacy)
        {
            const std::string message = error_of("address = " + std::string(legacy) + "\n");
            BOOST_TEST(message.find("expected numeric IPv4 or IPv6 addresses") != std::string::npos,
                       message);
            BOOST_TEST(message.find("dotted quad") != std::string::npos, message);
        }
    }
    TempDir dir;
    BOOST_TEST((load(dir.write("echod.conf", "address = 127.0.0.8, 0.0.0.1\n")).addresses ==
                std::vector<std::string>{"127.0.0.8", "0.0.0.1"}));
}

// Each address that passed the check but could never bind gets its own message.
BOOST_AUTO_TEST_CASE(addresses_that_could_never_bind_are_refused_each_with_its_reason)
{
    const std::pair<std::string, std::string> cases[] = {
        {"address = ::ffff:127.0.0.1\n",
         ":1: key 'address' has value '::ffff:127.0.0.1': an IPv4-mapped address cannot be "
         "listened on (IPv6 listeners are IPv6-only); write 127.0.0.1"},
        {"address = fe80::1\n",
         ":1: key 'address' has value 'fe80::1': a link-local address needs a scope"},
        {"address = ::1%lo\n", ":1: key 'address' has value '::1%lo': a scope (%lo) belongs only "
                               "to a link-local address (fe80::/10); write ::1"},
        {"address = fe80::1%no-such-if\n",
         ":1: key 'address' has value 'fe80::1%no-such-if': this host has no interface "
         "'no-such-if'"},
        {"address = 0.0.0.0, 127.0.0.1\n",
         ":1: key 'address' has value '127.0.0.1': the wildcard 0.0.0.0 and the specific "
         "address 127.0.0.1 cannot both listen on one port"},
        {"address = ::1\nport = 7\naddress = ::\n",
         ":3: key 'address' has value '::': the wildcard :: and the specific address ::1 "
         "cannot both listen on one port"},
    };
    for (const auto& [content, expected] : cases) {
        BOOST_TEST_CONTEXT(content)
        {
            const std::string message = error_of(content);
            BOOST_TEST(message.find(expected) != std::string::npos, message);
        }
    }
    TempDir dir;
    const std::string path = dir.write("echod.conf", "port = 7\n");
    // A wildcard of one family beside a specific address of the other binds (V6ONLY), and
    // a link-local address with its scope is what a link-local listener needs.
    BOOST_TEST((load(path, {"--address", "0.0.0.0, ::1"}).addresses ==
                std::vector<std::string>{"0.0.0.0", "::1"}));
    BOOST_TEST((load(path, {"--address", "fe80::1%lo"}).addresses ==
                std::vector<std::string>{"fe80::1%lo"}));
    BOOST_CHECK_EXCEPTION(load(path, {"--address", "::ffff:10.0.0.1"}), ConfigError,
                          [](const ConfigError& e) {
                              return std::string(e.what()).rfind("command line: key 'address' "
                                                                 "has value '::ffff:10.0.0.1'",
                                                                 0) == 0;
                          });
}

// PROXY protocol: on, it needs the balancers; each version by name; off, the balancers may
// stay listed (a reload can turn it on and off without touching them).
BOOST_AUTO_TEST_CASE(proxy_protocol_needs_proxy_trusted_and_names_both_keys)
{
    TempDir dir;
    const std::string plain = dir.write("plain.conf", "port = 7\n");
    for (const char* version : {"v1", "v2", "any"}) {
        BOOST_TEST_CONTEXT(version)
        {
            BOOST_CHECK_EXCEPTION(
                load(plain, {"--proxy_protocol", version}), ConfigError,
                [&](const ConfigError& e) {
                    return std::string(e.what()) ==
                           "command line: key 'proxy_protocol' has value '" +
                               std::string(version) +
                               "': it needs 'proxy_trusted' as well: the balancers' addresses";
                });
        }
    }
    const std::string trusted =
        dir.write("trusted.conf", "proxy_protocol = v2\nproxy_trusted = 192.0.2.10, 2001:db8::/64\n"
                                  "proxy_timeout = 500ms\n");
    const Config config = load(trusted);
    BOOST_TEST((config.proxy_protocol == ProxyProtocol::v2));
    BOOST_TEST(config.proxy_trusted.format() == "192.0.2.10/32, 2001:db8::/64");
    BOOST_TEST(config.proxy_timeout.count() == 500);
    BOOST_TEST((load(trusted, {"--proxy-protocol", "v1"}).proxy_protocol == ProxyProtocol::v1));
    BOOST_TEST((load(trusted, {"--proxy-protocol", "any"}).proxy_protocol == ProxyProtocol::any));
    BOOST_TEST((load(trusted, {"--proxy-protocol", "off"}).proxy_protocol == ProxyProtocol::off));
    // The command line's balancers replace the file's, and are still required.
    BOOST_TEST(load(trusted, {"--proxy-trusted", "10.0.0.1"}).proxy_trusted.format() ==
               "10.0.0.1/32");
    BOOST_CHECK_EXCEPTION(load(trusted, {"--proxy-trusted", ""}), ConfigError,
                          [](const ConfigError& e) {
                              return std::string(e.what()).find(
                                         "key 'proxy_protocol' has value 'v2': it needs "
                                         "'proxy_trusted'") != std::string::npos;
                          });
}

// allow, deny and proxy_trusted may be repeated: the lines add up, in order, each range
// once. On the command line, the option's values replace the file's whole list.
BOOST_AUTO_TEST_CASE(repeated_range_lines_add_up)
{
    TempDir dir;
    const std::string path = dir.write(
        "echod.conf", "allow = 192.0.2.0/24\nport = 7\nallow = 2001:db8::/32, 198.51.100.7\n"
                      "allow =\nallow = 192.0.2.0/24\ndeny = 192.0.2.128/25\n"
                      "deny = ::ffff:203.0.113.0/120\n");
    const Config config = load(path);
    BOOST_TEST(config.allow.format() == "192.0.2.0/24, 2001:db8::/32, 198.51.100.7/32");
    BOOST_TEST(config.allow.entries().size() == 3u);
    BOOST_TEST(config.deny.format() == "192.0.2.128/25, 203.0.113.0/24");
    BOOST_TEST(config.proxy_trusted.empty());

    const Config overridden = load(path, {"--allow", "10.0.0.0/8", "--allow", "::1"});
    BOOST_TEST(overridden.allow.format() == "10.0.0.0/8, ::1/128");
    BOOST_TEST(overridden.deny.format() == "192.0.2.128/25, 203.0.113.0/24");  // the file's
    // Every other key given twice is still an error, in the file and on the command line.
    BOOST_TEST(error_of("rate_per_source = 1\nrate_per_source = 2\n")
                   .find(":2: key 'rate_per_source' is set more than once, first on line 1") !=
               std::string::npos);
    BOOST_CHECK_THROW(command_line({"--udp", "on", "--udp", "off"}), UsageError);
}

BOOST_AUTO_TEST_CASE(rate_burst_defaults_to_rate_per_source_and_can_be_set)
{
    TempDir dir;
    const Config rated = load(dir.write("rated.conf", "rate_per_source = 20\n"));
    BOOST_TEST(rated.rate_per_source == 20u);
    BOOST_TEST(rated.rate_burst == 20u);
    const Config burst = load(dir.write("burst.conf", "rate_per_source = 20\nrate_burst = 50\n"));
    BOOST_TEST(burst.rate_burst == 50u);
    // The default follows rate_per_source wherever that was set; a set burst stays.
    BOOST_TEST(load(dir.path() + "/rated.conf", {"--rate-per-source", "7"}).rate_burst == 7u);
    BOOST_TEST(load(dir.path() + "/burst.conf", {"--rate-per-source", "7"}).rate_burst == 50u);
    BOOST_TEST(load(dir.path() + "/rated.conf", {"--rate-burst", "3"}).rate_burst == 3u);
    BOOST_TEST(load(dir.write("low.conf", "rate_burst = 1\nrate_per_source = 1000000\n"))
                   .rate_burst == 1u);
}

BOOST_AUTO_TEST_CASE(udp_accepts_only_on_or_off)
{
    TempDir dir;
    BOOST_TEST(load(dir.write("on.conf", "udp = on\n")).udp);
    BOOST_TEST(!load(dir.write("off.conf", "udp = off\n")).udp);
    BOOST_TEST(load(dir.path() + "/off.conf", {"--udp", "on"}).udp);
    for (const char* value : {"yes", "no", "true", "1", "0", "On", "OFF", "enabled"}) {
        BOOST_TEST_CONTEXT(value)
        {
            const std::string message = error_of("port = 7\nudp = " + std::string(value) + "\n");
            BOOST_TEST(message.find("echod.conf:2: key 'udp' has value '" + std::string(value) +
                                    "': expected on or off") != std::string::npos,
                       message);
        }
    }
    BOOST_TEST(error_of("udp =\n").find(":1: key 'udp' has value '': expected on or off") !=
               std::string::npos);
    BOOST_TEST(load(dir.write("rate.conf", "udp_rate_per_source = 0\n")).udp_rate_per_source ==
               0u);
}

// --check-config prints each list on one line, every range with its prefix, each once, and
// what it prints reads back to the same settings.
BOOST_AUTO_TEST_CASE(check_config_prints_the_lists_and_they_read_back)
{
    TempDir dir;
    const Config config = load(dir.write(
        "a.conf", "proxy_protocol = any\nproxy_trusted = 192.0.2.10\n"
                  "proxy_trusted = 2001:db8::/48\nproxy_timeout = 1500ms\n"
                  "allow = 198.51.100.0/24, ::ffff:203.0.113.5\ndeny = 198.51.100.64/26\n"
                  "rate_per_source = 5\nudp = on\nudp_rate_per_source = 100\n"));
    const std::string printed = format_config(config);
    for (const char* line :
         {"\nproxy_protocol = any\n", "\nproxy_trusted = 192.0.2.10/32, 2001:db8::/48\n",
          "\nproxy_timeout = 1500ms\n", "\nallow = 198.51.100.0/24, 203.0.113.5/32\n",
          "\ndeny = 198.51.100.64/26\n", "\nrate_per_source = 5\n", "\nrate_burst = 5\n",
          "\nudp = on\n", "\nudp_rate_per_source = 100\n"}) {
        BOOST_TEST(printed.find(line) != std::string::npos, line << " not in:\n" << printed);
    }
    // In the table's order: the new keys between max_connections_per_child and idle_timeout.
    BOOST_TEST(printed.find("max_connections_per_child =") < printed.find("proxy_protocol ="));
    BOOST_TEST(printed.find("udp_rate_per_source =") < printed.find("idle_timeout ="));
    const Config again = load(dir.write("b.conf", printed));
    BOOST_TEST(settings_of(again) == settings_of(config));
    BOOST_TEST(again.allow.format() == config.allow.format());
    BOOST_TEST(again.rate_burst == 5u);

    // Empty lists read back empty.
    const Config defaults = load(dir.write("c.conf", ""));
    const Config read_back = load(dir.write("d.conf", format_config(defaults)));
    BOOST_TEST(read_back.allow.empty());
    BOOST_TEST(read_back.deny.empty());
    BOOST_TEST(read_back.proxy_trusted.empty());
}

// Configuration management writes files of its own in echod.conf.d/ and leaves the
// packaged file alone: they are read after it, in byte order, each key from the last file
// that sets it, the command line over all.
BOOST_AUTO_TEST_CASE(drop_ins_are_read_in_name_order_and_a_later_one_wins)
{
    TempDir dir;
    const std::string main = dir.write("echod.conf", "port = 1\nbacklog = 5\nallow = 192.0.2.0/24\n"
                                                     "idle_timeout = 7s\n");
    const std::string drop_ins = dir.path() + "/echod.conf.d";
    BOOST_TEST_REQUIRE(::mkdir(drop_ins.c_str(), 0755) == 0);
    dir.write("echod.conf.d/10-first.conf", "port = 2\nallow = 198.51.100.0/24\n");
    dir.write("echod.conf.d/9-last.conf", "port = 3\n");  // "9" sorts after "10-"
    dir.write("echod.conf.d/B-upper.conf", "stall_timeout = 4s\n");  // 'B' before 'a'
    dir.write("echod.conf.d/a-lower.conf", "stall_timeout = 5s\n");
    // Not read: other endings (dpkg's leftovers, backups, disabled files), hidden names.
    for (const char* ignored : {"9-last.conf.dpkg-old", "9-last.conf.dpkg-dist", "9-last.conf~",
                                "9-last.conf.bak", ".9-last.conf.swp", ".hidden.conf",
                                "notes.txt", "x.conf.disabled", "conf"}) {
        dir.write(std::string("echod.conf.d/") + ignored, "port = 99\nnot a setting\n");
    }
    const Config config = load(main);
    BOOST_TEST(config.port == 3);
    BOOST_TEST(config.backlog == 5);                            // the main file's
    BOOST_TEST(config.allow.format() == "198.51.100.0/24");     // replaced, not added to
    BOOST_TEST(config.stall_timeout.count() == 5000);
    BOOST_TEST(config.idle_timeout.count() == 7000);
    BOOST_TEST((config.files ==
                std::vector<std::string>{main, drop_ins + "/10-first.conf", drop_ins + "/9-last.conf",
                                         drop_ins + "/B-upper.conf", drop_ins + "/a-lower.conf"}));
    const std::string printed = format_config(config);
    BOOST_TEST(printed.find("#   " + main + "\n#   " + drop_ins + "/10-first.conf\n") !=
                   std::string::npos, printed);
    // The command line wins over every file.
    BOOST_TEST(load(main, {"--port", "4", "--allow", "10.0.0.0/8"}).port == 4);
    BOOST_TEST(load(main, {"--allow", "10.0.0.0/8"}).allow.format() == "10.0.0.0/8");
    // No directory: the file alone.
    const std::string other = dir.write("other.conf", "port = 8\n");
    BOOST_TEST((load(other).files == std::vector<std::string>{other}));
    BOOST_TEST(load(other).port == 8);
}

BOOST_AUTO_TEST_CASE(drop_in_errors_name_the_drop_in_and_its_line)
{
    TempDir dir;
    const std::string main = dir.write("echod.conf", "port = 1\n");
    const std::string drop_ins = dir.path() + "/echod.conf.d";
    BOOST_TEST_REQUIRE(::mkdir(drop_ins.c_str(), 0755) == 0);
    auto error = [&](const std::string& content, const std::vector<std::string>& args = {}) {
        dir.write("echod.conf.d/50-tool.conf", content);
        try {
            load(main, args);
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        BOOST_FAIL("accepted: " << content);
        return std::string();
    };
    const std::string at = drop_ins + "/50-tool.conf:";
    BOOST_TEST(error("# a\nport = x\n").rfind(at + "2: key 'port' has value 'x'", 0) == 0u);
    BOOST_TEST(error("colour = blue\n") == at + "1: unknown key 'colour'");
    // A key twice in one file is an error, in a drop-in as in the main file.
    BOOST_TEST(error("port = 2\n\nport = 3\n") ==
               at + "3: key 'port' is set more than once, first on line 1");
    BOOST_TEST(error("no equals sign\n") == at + "1: a line is not 'key = value': 'no equals sign'");
    // A check across keys blames the key set last: a later file, whatever its line numbers.
    dir.write("echod.conf", "mode = prefork\n\n\n\nmax_spare_children = 4\n");
    BOOST_TEST(error("min_spare_children = 8\n") ==
               at + "1: key 'min_spare_children' has value '8': expected at most "
                    "max_spare_children (4)");
    dir.write("echod.conf", "port = 1\n");

    // What cannot be read is an error naming it.
    BOOST_TEST_REQUIRE(::unlink((drop_ins + "/50-tool.conf").c_str()) == 0);
    BOOST_TEST_REQUIRE(::mkdir((drop_ins + "/sub.conf").c_str(), 0755) == 0);
    BOOST_CHECK_EXCEPTION(load(main), ConfigError, [&](const ConfigError& e) {
        return std::string(e.what()) ==
               drop_ins + "/sub.conf: cannot read the config file: not a regular file";
    });
    BOOST_TEST_REQUIRE(::rmdir((drop_ins + "/sub.conf").c_str()) == 0);
    BOOST_TEST_REQUIRE(::symlink("/nonexistent-echod", (drop_ins + "/gone.conf").c_str()) == 0);
    BOOST_CHECK_EXCEPTION(load(main), ConfigError, [&](const ConfigError& e) {
        return std::string(e.what()) ==
               drop_ins + "/gone.conf: cannot read the config file: No such file or directory";
    });
    // The directory's name taken by a file.
    const std::string lone = dir.write("lone.conf", "port = 1\n");
    dir.write("lone.conf.d", "port = 2\n");
    BOOST_CHECK_EXCEPTION(load(lone), ConfigError, [&](const ConfigError& e) {
        return std::string(e.what()) ==
               lone + ".d: cannot read the drop-in directory: Not a directory";
    });
}

// `echod --help` in the GNU layout: usage, what it is, the options in groups with their
// arguments, descriptions in one column within 80 columns, where to read more.
BOOST_AUTO_TEST_CASE(help_has_the_gnu_layout)
{
    const std::string help = usage_text();
    BOOST_TEST(help.rfind("Usage: echod [OPTION]...\n", 0) == 0u, help);
    const std::string end = "\nSee echod(8) and echod.conf(5).\n";
    BOOST_TEST(help.substr(help.size() - std::min(help.size(), end.size())) == end);
    BOOST_TEST(help.find("\nGeneral options:\n") < help.find("\nSettings: "));
    BOOST_TEST(help.find("\n  -c, --config=FILE ") != std::string::npos, help);
    BOOST_TEST(help.find("\n      --reload=PID ") != std::string::npos, help);
    BOOST_TEST(help.find("\n      --max_children=N ") != std::string::npos, help);
    BOOST_TEST(help.find("\n      --mode=MODE ") != std::string::npos, help);
    std::istringstream lines(help);
    for (std::string line; std::getline(lines, line);) {
        BOOST_TEST(line.size() <= 79u, line);
        // A description starts in column 32, after an option or on a line of its own.
        if (line.rfind("  ", 0) == 0 && line.size() > 32 && line[31] != ' ') {
            BOOST_TEST(line.find("  ", 2) < 31u, line);
        }
    }
}

// Every key takes both spellings on the command line: --max_children and --max-children.
BOOST_AUTO_TEST_CASE(every_key_takes_dashes_or_underscores_on_the_command_line)
{
    for (const std::string& key : config_key_names()) {
        std::string dashed = key;
        std::replace(dashed.begin(), dashed.end(), '_', '-');
        for (const std::string& option : {"--" + key + "=v", "--" + dashed + "=v"}) {
            const CommandLine parsed = command_line({option});
            BOOST_TEST((parsed.overrides.count(key) == 1u &&
                        parsed.overrides.at(key) == std::vector<std::string>{"v"}),
                       option);
        }
    }
}
