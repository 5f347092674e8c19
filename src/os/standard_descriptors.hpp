// Descriptors 0, 1 and 2 kept taken, for a program started with any of them closed.
#pragma once

namespace echod {

// A program started with 0, 1 or 2 closed would hand those numbers to the next descriptor
// it opens (a socket), and a stray write to "stdout" or "stderr" would land in that
// stream. Each closed one is opened on /dev/null. False if that failed: call it first
// thing in main, and exit.
bool ensure_standard_descriptors() noexcept;

}  // namespace echod
