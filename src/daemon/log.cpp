#include "daemon/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/core/null_deleter.hpp>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>

#include <cstdio>
#include <ctime>
#include <iostream>

namespace logging = boost::log;

namespace echod {
namespace {

BOOST_LOG_ATTRIBUTE_KEYWORD(severity, "Severity", LogLevel)

int syslog_priority(LogLevel level)
{
    switch (level) {
    case LogLevel::debug: return 7;
    case LogLevel::info: return 6;
    case LogLevel::notice: return 5;
    case LogLevel::warning: return 4;
    case LogLevel::error: return 3;
    }
    return 6;
}

}  // namespace

bool stderr_is_journal()
{
    const char* stream = std::getenv("JOURNAL_STREAM");
    struct stat st {};
    if (stream == nullptr || ::fstat(STDERR_FILENO, &st) != 0) {
        return false;
    }
    unsigned long long dev = 0;
    unsigned long long ino = 0;
    return std::sscanf(stream, "%llu:%llu", &dev, &ino) == 2 && dev == st.st_dev &&
           ino == st.st_ino;
}

namespace {

// RFC 3339 local time with milliseconds and the UTC offset: 2026-11-27T19:58:03.123+01:00.
std::string timestamp()
{
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    tm local{};
    ::localtime_r(&now.tv_sec, &local);
    char text[48];
    std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &local);
    const long offset = local.tm_gmtoff / 60;  // minutes east of UTC
    const long magnitude = offset < 0 ? -offset : offset;
    std::snprintf(text + n, sizeof text - n, ".%03ld%c%02ld:%02ld", now.tv_nsec / 1'000'000,
                  offset < 0 ? '-' : '+', magnitude / 60, magnitude % 60);
    return text;
}

struct State {
    logging::sources::severity_logger<LogLevel> logger;
    LogLevel level = LogLevel::info;
};

State& state()
{
    static State instance;
    return instance;
}

}  // namespace

void log_init()
{
    using Sink = logging::sinks::synchronous_sink<logging::sinks::text_ostream_backend>;
    auto sink = boost::make_shared<Sink>();
    sink->locked_backend()->add_stream(boost::shared_ptr<std::ostream>(&std::clog,
                                                                        boost::null_deleter()));
    sink->locked_backend()->auto_flush(true);
    if (stderr_is_journal()) {
        sink->set_formatter([](const logging::record_view& record, logging::formatting_ostream& out) {
            out << '<' << syslog_priority(*record[severity]) << '>' << record[logging::expressions::smessage];
        });
    } else {
        sink->set_formatter([](const logging::record_view& record, logging::formatting_ostream& out) {
            out << timestamp() << " echod[" << ::getpid() << "] " << log_level_name(*record[severity])
                << ": " << record[logging::expressions::smessage];
        });
    }
    logging::core::get()->remove_all_sinks();
    logging::core::get()->add_sink(sink);
}

void log_set_level(LogLevel level)
{
    state().level = level;
}

bool log_enabled(LogLevel level)
{
    return level >= state().level;
}

void log_message(LogLevel level, const std::string& message)
{
    if (!log_enabled(level)) {
        return;
    }
    BOOST_LOG_SEV(state().logger, level) << message;
}

}  // namespace echod
