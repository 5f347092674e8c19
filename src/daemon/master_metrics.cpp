// The master's metrics_file: written once at start, every MetricsFile::interval, at once
// after a reload, and a last time (echod_up 0) at stop.
#include "daemon/master.hpp"

namespace echod {

void Master::write_metrics(Clock::time_point now, bool up)
{
    if (metrics_.path().empty()) {
        return;
    }
    const std::optional<std::size_t> spares =
        config_.mode == Mode::prefork ? std::optional(children_.spares()) : std::nullopt;
    format_metrics({stats_, children_.busy(), spares, config_.udp, config_.max_children,
                    !reload_failed_, up, started_},
                   metrics_text_);
    metrics_.write(metrics_text_, now);
}

// A reload that moves or clears metrics_file leaves the old file, written a last time
// with echod_up 0, so that nothing reads it as a live echod's. echod removes no file.
void Master::reload_metrics(const std::string& old_path)
{
    const Clock::time_point now = Clock::now();
    if (config_.metrics_file != old_path) {
        write_metrics(now, false);
        metrics_.retarget(config_.metrics_file);
    }
    write_metrics(now, true);
}

}  // namespace echod
