#include "os/sys_error.hpp"

#include <unistd.h>

namespace echod {

void throw_sys_error(const std::string& call, int error)
{
    throw std::system_error(error, std::generic_category(), call);
}

// Hot: the child path uses it to report (common/child_path.hpp; os/ cannot include it).
__attribute__((hot)) bool write_full(int fd, const void* data, std::size_t size) noexcept
{
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace echod
