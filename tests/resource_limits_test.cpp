// The warnings echod logs at start and at each reload when a limit around it cannot hold
// its settings: the cgroup's pids.max (a real cgroup, when this host lets root make one),
// RLIMIT_NPROC (for an unprivileged uid: root is exempt) and RLIMIT_NOFILE.
#define BOOST_TEST_MODULE resource_limits
#include "daemon/resource_limits.hpp"
#include "harness.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <fstream>

using namespace echod;
using namespace echod::test;

namespace {

std::vector<std::string> cgroups_of(const std::vector<PidsMaxFile>& files)
{
    std::vector<std::string> cgroups;
    for (const PidsMaxFile& file : files) {
        cgroups.push_back(file.cgroup);
    }
    return cgroups;
}

const std::string v2_mount =
    "22 1 0:21 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";
const std::string hybrid_mounts =
    "30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw\n"
    "35 25 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup rw,cpu,cpuacct\n"
    "38 25 0:34 / /sys/fs/cgroup/pids rw,nosuid shared:18 - cgroup cgroup rw,pids\n";

// A cgroup we made, removed (with its children first) once the processes in it are gone.
class TestCgroup {
public:
    explicit TestCgroup(std::string path) : path_(std::move(path)) {}
    ~TestCgroup() { ::rmdir(path_.c_str()); }
    const std::string& path() const { return path_; }
    bool make() const { return ::mkdir(path_.c_str(), 0755) == 0; }
    bool set_max(const std::string& max) const
    {
        std::ofstream file(path_ + "/pids.max");
        file << max << "\n";
        file.close();
        return static_cast<bool>(file);
    }
    // Runs the program after it in this cgroup.
    std::vector<std::string> wrapper() const
    {
        return {"sh", "-c", "echo $$ >\"$0/cgroup.procs\" && exec \"$@\"", path_};
    }

private:
    std::string path_;
};

std::string read_text(const std::string& path)
{
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text;
}

}  // namespace

BOOST_AUTO_TEST_CASE(pids_max_files_walk_up_the_pids_hierarchy)
{
    // cgroup v2: the unit's cgroup, then each parent (a slice's TasksMax= applies too).
    const auto v2 = pids_max_files("0::/system.slice/echod.service\n", v2_mount);
    BOOST_TEST((cgroups_of(v2) ==
                std::vector<std::string>{"/system.slice/echod.service", "/system.slice", "/"}));
    BOOST_TEST(v2.front().path == "/sys/fs/cgroup/system.slice/echod.service/pids.max");
    BOOST_TEST(v2.back().path == "/sys/fs/cgroup/pids.max");
    // Hybrid or v1: the pids controller's own hierarchy, not the unified one.
    const auto hybrid = pids_max_files(
        "12:pids:/user.slice/session-1.scope\n4:cpu,cpuacct:/user.slice\n0::/user.slice\n",
        hybrid_mounts);
    BOOST_TEST((cgroups_of(hybrid) ==
                std::vector<std::string>{"/user.slice/session-1.scope", "/user.slice", "/"}));
    BOOST_TEST(hybrid.front().path == "/sys/fs/cgroup/pids/user.slice/session-1.scope/pids.max");
    // A mount of part of the hierarchy (a container without a cgroup namespace): the walk
    // stops at what it shows.
    const auto part = pids_max_files(
        "0::/machine.slice/c1/system.slice/echod.service\n",
        "40 30 0:21 /machine.slice/c1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    BOOST_TEST((cgroups_of(part) ==
                std::vector<std::string>{"/machine.slice/c1/system.slice/echod.service",
                                         "/machine.slice/c1/system.slice", "/machine.slice/c1"}));
    BOOST_TEST(part.front().path == "/sys/fs/cgroup/system.slice/echod.service/pids.max");
    BOOST_TEST(part.back().path == "/sys/fs/cgroup/pids.max");
    // Nothing to read: no mount, a cgroup outside the mount, no line.
    BOOST_TEST(pids_max_files("0::/a\n", "").empty());
    BOOST_TEST(pids_max_files("0::/a\n", "40 30 0:21 /b /sys/fs/cgroup rw - cgroup2 c rw\n").empty());
    BOOST_TEST(pids_max_files("", v2_mount).empty());
    // The named v1 hierarchy (name=systemd) is not the pids controller.
    BOOST_TEST(pids_max_files("1:name=systemd:/a\n",
                              "30 25 0:26 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n")
                   .empty());
}

BOOST_AUTO_TEST_CASE(the_lowest_number_wins_and_max_is_no_limit)
{
    TempDir dir;
    const std::vector<PidsMaxFile> files{{"/a/b", dir.write("b", "max\n")},
                                         {"/a", dir.write("a", "300\n")},
                                         {"/", dir.write("root", "500\n")},
                                         {"/gone", dir.path() + "/none"}};
    const auto lowest = lowest_pids_limit(files);
    BOOST_TEST_REQUIRE(lowest.has_value());
    BOOST_TEST(lowest->max == 300u);
    BOOST_TEST(lowest->cgroup == "/a");
    BOOST_TEST(!lowest_pids_limit({files[0], files[3]}).has_value());
}

BOOST_AUTO_TEST_CASE(needs_count_the_children_the_master_and_the_udp_child)
{
    Config config;
    config.max_children = 400;
    BOOST_TEST(resource_needs(config, 2, false).processes == 401u);
    BOOST_TEST(resource_needs(config, 4, true).processes == 402u);
    config.mode = Mode::prefork;  // spares count toward max_children
    BOOST_TEST(resource_needs(config, 2, false).processes == 401u);
    // No descriptor per child: 0-2, 2 signalfds, the report pipe, 2 transient, sockets twice.
    BOOST_TEST(resource_needs(config, 2, false).descriptors == 13u);
    config.max_children = 10;
    config.pid_file = "/run/echod.pid";
    BOOST_TEST(resource_needs(config, 2, false).descriptors == 14u);
}

// RLIMIT_NOFILE: one listener needs 11 descriptors; at 11 nothing is said, at 10 a warning
// at start. A reload that adds UDP sockets (13 needed) warns again, and the reload goes on.
BOOST_AUTO_TEST_CASE(a_low_rlimit_nofile_is_reported_at_start_and_at_reload)
{
#if defined(__SANITIZE_ADDRESS__)
    // The sanitizer runtime needs descriptors of its own: with 10 in all, UBSan cannot
    // check a vtable pointer and reports one as invalid before echod has bound anything.
    // The count is echod's own, and is checked in the ordinary build.
    BOOST_TEST_MESSAGE("SKIPPED under the sanitizers: their runtime uses descriptors too");
    return;
#endif
    const std::string low_pattern =
        "warning: msg=\"limit too low; past it accept fails and accepting pauses\" "
        "limit=RLIMIT_NOFILE RLIMIT_NOFILE=10 needs=11 sockets=1 own=9 "
        "fix=\"systemctl edit echod: \\[Service\\] LimitNOFILE=11 or more\"$";
    {
        Echod low("", {}, {"prlimit", "--nofile=10"});
        BOOST_TEST(low.daemon.count(low_pattern) == 1u, low.daemon.log());
        echo_once(low.port, "still serves");
    }
    Echod enough("", {}, {"prlimit", "--nofile=11"});
    BOOST_TEST(enough.daemon.count("limit too low") == 0u, enough.daemon.log());
    enough.reload(with_loopback_defaults("udp = on\n"));
    const std::size_t at = enough.daemon.line_count();
    enough.daemon.wait_for("warning: msg=\"limit too low; .* RLIMIT_NOFILE=11 needs=13 sockets=2 ");
    enough.daemon.wait_for("notice: msg=\"reloaded\" ", 10s, at);
}

// RLIMIT_NPROC counts every process of the real uid, and the kernel exempts root: checked
// for an unprivileged uid of its own, and not said for root.
BOOST_AUTO_TEST_CASE(a_low_rlimit_nproc_is_reported_for_an_unprivileged_uid,
                     *boost::unit_test::precondition(RunningAsRoot()))
{
    Echod user("max_children = 30\n", {},
               {"prlimit", "--nproc=20", "setpriv", "--reuid=64125", "--regid=64125",
                "--clear-groups"});
    BOOST_TEST(user.daemon.count("warning: msg=\"limit too low; forks past it fail and drop "
                                 "their clients\" limit=RLIMIT_NPROC RLIMIT_NPROC=20 uid=64125 "
                                 "needs=31 max_children=30 fix=\"systemctl edit echod: "
                                 "\\[Service\\] LimitNPROC=31 or more, or lower max_children\"$") ==
                   1u,
               user.daemon.log());
    // Lowered below the limit at a reload: nothing more is said.
    user.reload(with_loopback_defaults("max_children = 10\n"));
    user.daemon.wait_for("notice: msg=\"reloaded\" .* max_children=10 ");
    BOOST_TEST(user.daemon.count("limit too low") == 1u, user.daemon.log());

    Echod root("max_children = 30\n", {}, {"prlimit", "--nproc=20"});
    BOOST_TEST(root.daemon.count("limit too low") == 0u, root.daemon.log());
}

// pids.max in a real cgroup: echod started in a child of a cgroup whose pids.max is too low
// names the parent, whose limit applies to it too; raised at a reload, the warning stops.
BOOST_AUTO_TEST_CASE(a_low_cgroup_pids_max_is_reported_with_its_cgroup,
                     *boost::unit_test::precondition(RunningAsRoot()))
{
    const auto own = pids_max_files(read_text("/proc/self/cgroup"), read_text("/proc/self/mountinfo"));
    if (own.empty()) {
        BOOST_TEST_MESSAGE("SKIPPED: no pids controller hierarchy is mounted here");
        return;
    }
    const std::string here = own.front().path.substr(0, own.front().path.rfind('/'));
    const std::string name = "echod-test-" + std::to_string(::getpid());
    TestCgroup parent(here + "/" + name);
    if (!parent.make() || !parent.set_max("20")) {
        BOOST_TEST_MESSAGE("SKIPPED: cannot make a cgroup with pids.max in " << here);
        return;
    }
    TestCgroup child(parent.path() + "/echod");
    BOOST_TEST_REQUIRE(child.make());
    const std::string cgroup =
        (own.front().cgroup == "/" ? "" : own.front().cgroup) + "/" + name;
    {
        Echod echod("max_children = 30\nudp = on\n", {}, child.wrapper());
        BOOST_TEST(echod.daemon.count("warning: msg=\"limit too low; forks past it fail and drop "
                                      "their clients\" limit=pids.max pids_max=20 cgroup=" +
                                      cgroup +
                                      " needs=32 max_children=30 udp_child=yes fix=\"systemctl "
                                      "edit echod: \\[Service\\] TasksMax=32 or more, or lower "
                                      "max_children\"$") == 1u,
                   echod.daemon.log());
        // A lower limit nearer the process wins.
        BOOST_TEST_REQUIRE(child.set_max("15"));
        echod.reload(with_loopback_defaults("max_children = 18\n"));
        echod.daemon.wait_for("warning: msg=\"limit too low; .* pids_max=15 cgroup=" + cgroup +
                              "/echod needs=19 ");
        echod.daemon.wait_for("notice: msg=\"reloaded\" .* max_children=18 ");
        echod.reload(with_loopback_defaults("max_children = 14\n"));
        echod.daemon.wait_for("notice: msg=\"reloaded\" .* max_children=14 ");
        BOOST_TEST(echod.daemon.count("limit too low") == 2u, echod.daemon.log());
        echo_once(echod.port, "in a cgroup");
        echod.daemon.signal(SIGTERM);
        BOOST_TEST(echod.daemon.wait_exit() == 0);
    }
}
