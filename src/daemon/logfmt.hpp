// One log line in logfmt: msg="fixed wording" key=value ... Every line the master logs is
// built here, so the quoting is done once: a value with a space, a quote, an equals sign,
// a backslash or a control character (or an empty one) is quoted, with \" \\ \n \r \t and
// \u00XX escapes; msg is always quoted, so that `msg="connection closed"` greps alike
// whatever the wording.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

namespace echod {

class LogLine {
public:
    explicit LogLine(std::string_view msg);

    LogLine& add(std::string_view key, std::string_view value);
    template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>,
                                           int> = 0>
    LogLine& add(std::string_view key, T value)
    {
        return add(key, std::string_view(std::to_string(value)));
    }
    // Fields already in logfmt (" key=value ..." or "key=value ..."), such as the status
    // counters that STATUS= carries too.
    LogLine& fields(std::string_view text);

    const std::string& text() const { return text_; }

private:
    std::string text_;
};

// `value` as a logfmt value: bare when it can be, else quoted and escaped.
std::string logfmt_value(std::string_view value);

}  // namespace echod
