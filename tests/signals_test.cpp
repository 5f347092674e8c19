// echod(8)'s SIGNALS section describes common/signals.hpp: the master's list and the
// children's name the same signals, no more.
#define BOOST_TEST_MODULE signals
#include "common/signals.hpp"

#include <boost/test/unit_test.hpp>

#include <cstring>
#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

std::string name_of(int signal)
{
    if (signal >= SIGRTMIN) {
        return "SIGRTMIN+" + std::to_string(signal - SIGRTMIN);
    }
    return std::string("SIG") + ::sigabbrev_np(signal);
}

template <typename... Lists>
std::set<std::string> names(const Lists&... lists)
{
    std::set<std::string> result;
    (..., [&result](const auto& list) {
        for (int signal : list) {
            result.insert(name_of(signal));
        }
    }(lists));
    return result;
}

// The signals named by the entries (`.TP`, then the line naming them) of the subsection
// `.SS WHO` of echod(8)'s SIGNALS section.
std::set<std::string> man_page_list(const std::string& who)
{
    std::ifstream page(ECHOD_SOURCE_DIR "/man/echod.8");
    BOOST_TEST_REQUIRE(page.good());
    std::vector<std::string> lines;
    bool in_signals = false;
    for (std::string line; std::getline(page, line);) {
        if (line.rfind(".SH ", 0) == 0) {
            in_signals = line == ".SH SIGNALS";
        } else if (in_signals) {
            lines.push_back(line);
        }
    }
    auto begin = std::find(lines.begin(), lines.end(), ".SS " + who);
    BOOST_TEST_REQUIRE((begin != lines.end()), "man/echod.8 (SIGNALS) has no '.SS " << who << "'");
    const auto end = std::find_if(begin + 1, lines.end(), [](const std::string& line) {
        return line.rfind(".SS ", 0) == 0;
    });
    const std::regex signal("SIG[A-Z0-9]+(\\+[0-9]+)?");
    std::set<std::string> found;
    for (auto it = begin; it != end && it + 1 != end; ++it) {
        if (*it != ".TP") {
            continue;
        }
        const std::string& entry = *(it + 1);
        for (std::sregex_iterator match(entry.begin(), entry.end(), signal), none; match != none;
             ++match) {
            found.insert(match->str());
        }
    }
    return found;
}

}  // namespace

BOOST_AUTO_TEST_CASE(echod_8_lists_the_signals_the_master_reads_and_ignores)
{
    const int retire_and_reload[] = {echod::retire_signal, echod::reload_request_signal()};
    BOOST_TEST(man_page_list("The master") == names(echod::master_signal_numbers,
                                               echod::master_ignored_signals, retire_and_reload),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(echod_8_lists_the_signals_a_child_reads_and_ignores)
{
    const int retire_and_reload[] = {echod::retire_signal, echod::reload_request_signal()};
    BOOST_TEST(man_page_list("Children") == names(echod::child_stop_signals,
                                              echod::child_ignored_signals, retire_and_reload),
               boost::test_tools::per_element());
}
