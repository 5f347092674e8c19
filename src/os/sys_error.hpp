// Failed system calls become std::system_error naming the call and its argument.
#pragma once

#include <cerrno>
#include <string>
#include <system_error>

namespace echod {

[[noreturn]] void throw_sys_error(const std::string& call, int error = errno);

// Returns `result`, or throws if it is -1 (the usual syscall failure convention).
template <typename T>
T check_sys(T result, const std::string& call)
{
    if (result == static_cast<T>(-1)) {
        throw_sys_error(call);
    }
    return result;
}

// Writes all of [data, data+size) to a blocking descriptor, retrying short writes and EINTR.
// Returns false (errno set) on error.
bool write_full(int fd, const void* data, std::size_t size) noexcept;

}  // namespace echod
