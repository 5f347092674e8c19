// ECHOD_CHILD_PATH marks a function a child runs between fork() and _exit() (in prefork
// mode, between fork() and its first connection too).
//
// A child starts with none of the master's code pages in its page table: each code page it
// touches first is a page fault (which maps the 16 pages around it), and every page mapped
// is torn down again at its exit. Marked functions go to .text.hot, which the linker puts
// together at the start of .text, so the whole child path costs one or two faults instead
// of one for each object file it passes through (BENCHMARKS.md, "The fork path").
#pragma once

#define ECHOD_CHILD_PATH __attribute__((hot))
