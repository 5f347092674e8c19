// The master's narrator. Only log.cpp sees Boost.Log; children never log (Boost.Log does
// not support fork), the master logs for them from their reports.
#pragma once

#include "daemon/config.hpp"
#include "daemon/logfmt.hpp"

#include <string>

namespace echod {

// Chooses the line format: "<N>" syslog priority prefixes when stderr is the journal
// (JOURNAL_STREAM names it); otherwise an RFC 3339 timestamp with the UTC offset, the pid
// and the level before the message.
void log_init();
// Whether stderr is the journal: systemd set JOURNAL_STREAM to the dev:ino of the stream
// it connected, and stderr is still that stream (not redirected by a wrapper).
bool stderr_is_journal();
void log_set_level(LogLevel level);

// Whether a line at `level` is written: the master checks before it formats a line it logs
// for every connection, since formatting writes heap pages that each live child then keeps
// its own copy of.
bool log_enabled(LogLevel level);
void log_message(LogLevel level, const std::string& message);
inline void log_message(LogLevel level, const LogLine& line) { log_message(level, line.text()); }
inline void log_debug(const std::string& m) { log_message(LogLevel::debug, m); }
inline void log_info(const std::string& m) { log_message(LogLevel::info, m); }
inline void log_notice(const std::string& m) { log_message(LogLevel::notice, m); }
inline void log_warning(const std::string& m) { log_message(LogLevel::warning, m); }
inline void log_error(const std::string& m) { log_message(LogLevel::error, m); }

}  // namespace echod
