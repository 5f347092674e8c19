// Fields that several log events share (log_events.cpp, log_episodes.cpp).
#pragma once

#include "daemon/logfmt.hpp"

namespace echod {

// reason=killed signal=N, or reason=failed exit=N: a child that ended without its report.
void add_unreported_end(LogLine& line, int wait_status);
// why=TEXT, when there is a why.
void add_why(LogLine& line, const char* why);

}  // namespace echod
