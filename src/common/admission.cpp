#include "common/admission.hpp"

#include "common/child_path.hpp"

namespace echod {

const char* refusal_name(Refusal refusal)
{
    switch (refusal) {
    case Refusal::none: return "none";
    case Refusal::source_full: return "max_per_source";
    case Refusal::network_full: return "max_per_network";
    case Refusal::denied: return "denied";
    case Refusal::rate_limited: return "rate_per_source";
    case Refusal::untrusted: return "untrusted";
    case Refusal::bad_header: return "bad_header";
    }
    return "unknown";
}

ECHOD_CHILD_PATH Refusal Admission::admit(int hold, const Endpoint& client,
                                          const ClientRules& rules,
                                          std::chrono::milliseconds wait)
{
    if (!rules.allows(client)) {
        return Refusal::denied;
    }
    if (!rates.take(source_key(client), rules.rate, Clock::now())) {
        return Refusal::rate_limited;
    }
    switch (counts.admit(hold, client, rules.limits, wait)) {
    case ClientCounts::Verdict::admitted: return Refusal::none;
    case ClientCounts::Verdict::source_full: return Refusal::source_full;
    case ClientCounts::Verdict::network_full: return Refusal::network_full;
    }
    return Refusal::none;
}

}  // namespace echod
