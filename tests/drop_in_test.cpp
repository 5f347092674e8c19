// Drop-ins (echod.conf.d/*.conf) with the real echod: read at start after the config file,
// again at each reload, and listed by --check-config; a broken one is refused like a broken
// config file.
#define BOOST_TEST_MODULE drop_in
#include "harness.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

using namespace echod::test;

BOOST_AUTO_TEST_CASE(drop_ins_apply_at_start_at_reload_and_in_check_config)
{
    TempDir dir;
    const std::string config =
        dir.write("echod.conf", "address = 127.0.0.1\nport = 0\nmax_children = 5\n"
                                "max_per_source = 3\n");
    const std::string drop_ins = dir.path() + "/echod.conf.d";
    BOOST_TEST_REQUIRE(::mkdir(drop_ins.c_str(), 0755) == 0);
    dir.write("echod.conf.d/50-site.conf", "max_children = 7\n");
    dir.write("echod.conf.d/50-site.conf.dpkg-old", "max_children = 99\n");  // not read

    const CommandResult check = run_command({echod_path(), "--config", config, "--check-config"});
    BOOST_TEST(check.status == 0, check.err);
    BOOST_TEST(check.out.find("#   " + config + "\n#   " + drop_ins + "/50-site.conf\n") !=
                   std::string::npos, check.out);
    BOOST_TEST(check.out.find("dpkg-old") == std::string::npos, check.out);
    BOOST_TEST(check.out.find("\nmax_children = 7\n") != std::string::npos, check.out);

    Daemon echod({"--config", config});
    const std::uint16_t port = echod.wait_ready();
    BOOST_TEST(echod.count("msg=\"ready\" .* max_children=7 max_per_source=3 ") == 1u, echod.log());
    echo_once(port, "drop-in at start");

    // A new drop-in, read at the reload, after the first: its key wins.
    dir.write("echod.conf.d/60-tool.conf", "max_children = 9\nmax_per_source = 4\n");
    echod.signal(SIGHUP);
    echod.wait_for("notice: msg=\"reloaded\" .* max_children=9 max_per_source=4 ");

    // A broken one: the reload is refused with its file and line, the daemon runs on.
    dir.write("echod.conf.d/70-typo.conf", "# added by hand\nmax_chilren = 12\n");
    std::size_t at = echod.line_count();
    echod.signal(SIGHUP);
    echod.wait_for("error: msg=\"reload failed; keeping the running configuration\" error=\"" +
                       drop_ins + "/70-typo\\.conf:2: unknown key 'max_chilren'\"$",
                   10s, at);
    echo_once(port, "still running");
    const CommandResult refused = run_command({echod_path(), "--config", config, "--check-config"});
    BOOST_TEST(refused.status == 78);
    BOOST_TEST(refused.err.find(drop_ins + "/70-typo.conf:2: unknown key 'max_chilren'") !=
                   std::string::npos, refused.err);

    // Removed, and the other reverted: the file's own value again.
    BOOST_TEST_REQUIRE(::unlink((drop_ins + "/70-typo.conf").c_str()) == 0);
    BOOST_TEST_REQUIRE(::unlink((drop_ins + "/60-tool.conf").c_str()) == 0);
    at = echod.line_count();
    echod.signal(SIGHUP);
    echod.wait_for("notice: msg=\"reloaded\" .* max_children=7 max_per_source=3 ", 10s, at);
    echod.signal(SIGTERM);
    BOOST_TEST(echod.wait_exit() == 0);
}

// The command line still wins over every file, at start and at a reload.
BOOST_AUTO_TEST_CASE(the_command_line_wins_over_the_drop_ins)
{
    TempDir dir;
    const std::string config = dir.write("echod.conf", "address = 127.0.0.1\nport = 0\n");
    BOOST_TEST_REQUIRE(::mkdir((dir.path() + "/echod.conf.d").c_str(), 0755) == 0);
    dir.write("echod.conf.d/local.conf", "max_children = 7\nmax_per_source = 2\n");
    Daemon echod({"--config", config, "--max-children", "11"});
    echod.wait_ready();
    BOOST_TEST(echod.count("msg=\"ready\" .* max_children=11 max_per_source=2 ") == 1u, echod.log());
    dir.write("echod.conf.d/local.conf", "max_children = 8\nmax_per_source = 5\n");
    echod.signal(SIGHUP);
    echod.wait_for("notice: msg=\"reloaded\" .* max_children=11 max_per_source=5 ");
    echod.signal(SIGTERM);
    BOOST_TEST(echod.wait_exit() == 0);
}
