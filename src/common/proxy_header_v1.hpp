// Version 1 of the PROXY header, the text line: parse_proxy_header (proxy_header.cpp) hands
// it what starts with 'P'.
#pragma once

#include "common/proxy_header.hpp"

#include <string_view>

namespace echod {

// `data`: all that was read so far, from the header's first byte.
ProxyParse parse_proxy_v1(std::string_view data);

}  // namespace echod
