// Linked into ref_fork_server_echod_libs: the reference fork server with the libraries echod
// used to link (Boost.Log, Boost.Program_options, the shared C++ runtime, libsystemd and
// what libsystemd needs; echod now loads libsystemd only under systemd) loaded and used
// once at start, and nothing else changed. Comparing it with ref_fork_server measures
// what those libraries cost a fork server per connection (BENCHMARKS.md).
#include <boost/log/trivial.hpp>
#include <boost/program_options/options_description.hpp>
#include <systemd/sd-daemon.h>

namespace {

struct UseTheLibraries {
    UseTheLibraries()
    {
        boost::program_options::options_description options("reference");
        BOOST_LOG_TRIVIAL(trace) << "libraries loaded: " << options.options().size();
        sd_notify(0, "STATUS=reference");  // no NOTIFY_SOCKET: does nothing, but links
    }
} use_the_libraries;

}  // namespace
