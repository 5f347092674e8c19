#include "daemon/logfmt.hpp"

#include <cstdio>

namespace echod {
namespace {

bool needs_quotes(std::string_view value)
{
    if (value.empty()) {
        return true;
    }
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= ' ' || byte == 0x7f || c == '"' || c == '=' || c == '\\') {
            return true;
        }
    }
    return false;
}

void append_quoted(std::string& out, std::string_view value)
{
    out += '"';
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (byte < ' ' || byte == 0x7f) {
                char escape[8];
                std::snprintf(escape, sizeof escape, "\\u%04x", byte);
                out += escape;
            } else {
                out += c;
            }
        }
    }
    out += '"';
}

}  // namespace

LogLine::LogLine(std::string_view msg)
{
    text_.reserve(160);  // one allocation for a connection's line
    text_ += "msg=";
    append_quoted(text_, msg);
}

LogLine& LogLine::add(std::string_view key, std::string_view value)
{
    text_ += ' ';
    text_ += key;
    text_ += '=';
    if (needs_quotes(value)) {
        append_quoted(text_, value);
    } else {
        text_ += value;
    }
    return *this;
}

LogLine& LogLine::fields(std::string_view text)
{
    if (!text.empty() && text.front() != ' ') {
        text_ += ' ';
    }
    text_ += text;
    return *this;
}

std::string logfmt_value(std::string_view value)
{
    std::string out;
    if (needs_quotes(value)) {
        append_quoted(out, value);
    } else {
        out = value;
    }
    return out;
}

}  // namespace echod
