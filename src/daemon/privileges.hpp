// Dropping root after binding.
#pragma once

#include "daemon/config.hpp"

namespace echod {

// When started as root with `user` set: switch to that user and group (the user's primary
// group unless `group` is set) for good. Started as another user: `user` is ignored, logged.
void drop_privileges(const Config& config);

}  // namespace echod
