// Config parsing and validation, without starting the daemon.
#define BOOST_TEST_MODULE config
#include "daemon/config.hpp"
#include "harness.hpp"

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

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

}  // namespace

BOOST_AUTO_TEST_CASE(empty_file_gives_the_documented_defaults)
{
    TempDir dir;
    const Config config = load(dir.write("echod.conf", "# nothing set\n"));
    BOOST_TEST(config.port == 7);
    BOOST_TEST(config.backlog == 128);
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
}

BOOST_AUTO_TEST_CASE(sample_config_is_valid_and_matches_the_defaults)
{
    const Config config = load(ECHOD_SOURCE_DIR "/config/echod.conf");
    TempDir dir;
    const Config defaults = load(dir.write("echod.conf", ""));
    BOOST_TEST(format_config(config).substr(format_config(config).find('\n')) ==
               format_config(defaults).substr(format_config(defaults).find('\n')));
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
    BOOST_TEST(format_config(again).substr(format_config(again).find('\n')) ==
               format_config(config).substr(format_config(config).find('\n')));
}

struct BadValue {
    const char* content;
    const char* key;
    const char* value;
    const char* expected;
};

BOOST_AUTO_TEST_CASE(bad_values_name_file_key_value_and_expectation)
{
    const BadValue cases[] = {
        {"port = 70000\n", "port", "70000", "from 0 to 65535"},
        {"port = 65536\n", "port", "65536", "from 0 to 65535"},
        {"port = -1\n", "port", "-1", "integer"},
        {"port = seven\n", "port", "seven", "integer"},
        {"port = 7x\n", "port", "7x", "integer"},
        {"port =\n", "port", "", "integer"},
        {"backlog = 0\n", "backlog", "0", "from 1 to 65535"},
        {"backlog = 99999999999999999999999\n", "backlog", "99999999999999999999999", "integer"},
        {"max_children = 0\n", "max_children", "0", "from 1"},
        {"max_per_source = 1e3\n", "max_per_source", "1e3", "integer"},
        {"idle_timeout = 5 parsecs\n", "idle_timeout", "5 parsecs", "duration"},
        {"stall_timeout = -3s\n", "stall_timeout", "-3s", "duration"},
        {"shutdown_timeout = 8d\n", "shutdown_timeout", "8d", "duration"},
        {"shutdown_timeout = 169h\n", "shutdown_timeout", "169h", "at most 7 days"},
        {"log_level = loud\n", "log_level", "loud", "debug, info"},
        {"mode = threads\n", "mode", "threads", "expected fork or prefork"},
        {"mode = Prefork\n", "mode", "Prefork", "expected fork or prefork"},
        {"min_spare_children = 0\n", "min_spare_children", "0", "from 1"},
        {"max_spare_children = 100001\n", "max_spare_children", "100001", "from 1 to 100000"},
        {"max_connections_per_child = -1\n", "max_connections_per_child", "-1", "integer"},
        {"min_spare_children = 8\nmax_spare_children = 4\n", "max_spare_children", "4",
         "at least min_spare_children (8)"},
        {"address = localhost\n", "address", "localhost", "numeric"},
        {"address = 999.1.1.1\n", "address", "999.1.1.1", "numeric"},
        {"user = no-such-user-echod\n", "user", "no-such-user-echod", "no such user"},
        {"user = root\ngroup = no-such-group-echod\n", "group", "no-such-group-echod",
         "no such group"},
    };
    for (const BadValue& c : cases) {
        BOOST_TEST_CONTEXT(c.content)
        {
            const std::string message = error_of(c.content);
            BOOST_TEST(message.find("echod.conf: key '" + std::string(c.key) + "' has value '" +
                                    c.value + "'") != std::string::npos,
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
