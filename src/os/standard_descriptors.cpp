#include "os/standard_descriptors.hpp"

#include <fcntl.h>

namespace echod {

bool ensure_standard_descriptors() noexcept
{
    for (int fd = 0; fd <= 2; ++fd) {
        // open returns the lowest free number: the closed one, since those below are taken.
        if (::fcntl(fd, F_GETFD) < 0 && ::open("/dev/null", O_RDWR) != fd) {
            return false;
        }
    }
    return true;
}

}  // namespace echod
