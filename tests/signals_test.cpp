// The README's signal tables describe common/signals.hpp: the same signals, no more.
#define BOOST_TEST_MODULE signals
#include "common/signals.hpp"

#include <boost/test/unit_test.hpp>

#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <string>

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

// The signals named in the first column of the README table whose header is
// "| signal | WHO |".
std::set<std::string> readme_table(const std::string& who)
{
    std::ifstream readme(ECHOD_SOURCE_DIR "/README.md");
    BOOST_TEST_REQUIRE(readme.good());
    std::set<std::string> found;
    bool in_table = false;
    for (std::string line; std::getline(readme, line);) {
        if (line == "| signal | " + who + " |") {
            in_table = true;
        } else if (in_table && line.rfind("|", 0) != 0) {
            break;
        } else if (in_table) {
            const std::string first = line.substr(0, line.find('|', 1));
            const std::regex signal("SIG[A-Z0-9]+(\\+[0-9]+)?");
            for (std::sregex_iterator it(first.begin(), first.end(), signal), end; it != end;
                 ++it) {
                found.insert(it->str());
            }
        }
    }
    BOOST_TEST_REQUIRE(in_table, "README.md has no table '| signal | " << who << " |'");
    return found;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_readme_master_table_lists_the_signals_the_master_reads_and_ignores)
{
    const int retire_and_reload[] = {echod::retire_signal, echod::reload_request_signal()};
    BOOST_TEST(readme_table("master") == names(echod::master_signal_numbers,
                                               echod::master_ignored_signals, retire_and_reload),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_readme_child_table_lists_the_signals_a_child_reads_and_ignores)
{
    const int retire_and_reload[] = {echod::retire_signal, echod::reload_request_signal()};
    BOOST_TEST(readme_table("child") == names(echod::child_stop_signals,
                                              echod::child_ignored_signals, retire_and_reload),
               boost::test_tools::per_element());
}
