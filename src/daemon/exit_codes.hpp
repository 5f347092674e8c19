// echod's exit statuses, sysexits(3) where one fits. echod(8) documents each under EXIT
// STATUS, and config_test checks that it lists every one of these.
#pragma once

namespace echod::exit_status {

enum ExitCode : int {
    exit_ok = 0,
    exit_reload_rejected = 1,  // --reload: the master kept its running settings
    exit_usage = 64,           // EX_USAGE
    exit_unavailable = 69,     // EX_UNAVAILABLE: --reload got no answer
    exit_software = 70,        // EX_SOFTWARE
    exit_oserr = 71,           // EX_OSERR: cannot start, e.g. bind failed
    exit_config = 78,          // EX_CONFIG
};

constexpr ExitCode all[] = {exit_ok,         exit_reload_rejected, exit_usage, exit_unavailable,
                            exit_software,   exit_oserr,           exit_config};

}  // namespace echod::exit_status
