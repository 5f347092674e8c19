#!/usr/bin/env bash
# The whole test suite again, with echod, echod-client and the tests built with
# AddressSanitizer and UndefinedBehaviorSanitizer (any report fails the run). The
# container test and the package test are left out: they build and check the package of
# the release build. Both robustness entries run (prefork mode about 50 s here, fork mode
# about 6 min: each fork copies ASan's shadow mappings; the build takes about as long).
#
#   tests/sanitize/run.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1 build_dir=$2
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS="$flags" \
    -DECHOD_EXTRA_TESTS=OFF -DECHOD_STATIC_CXX_RUNTIME=OFF >/dev/null
cmake --build "$build_dir" -j"$(nproc)" >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
ctest --test-dir "$build_dir" -E "systemd_container_test|package_test" --output-on-failure
