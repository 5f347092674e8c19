#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time:
# first over the checked-in corpus (seeds and regression inputs of past crashes), then
# fuzzing for SECONDS.
#
#   tests/fuzz/run.sh SOURCE_DIR BUILD_DIR SECONDS [TARGET...]
#
# TARGET is config, echo_session or proxy_header (default: all three). proxy_header fuzzes
# for 20 s at most: a parser of at most 536 bytes is covered in seconds. A target with a
# tests/fuzz/<target>.dict gets it as libFuzzer's dictionary.
# A crash leaves its input in BUILD_DIR/artifacts; once fixed, copy that file into
# tests/fuzz/corpus/<target>/ so it is replayed on every run.
set -euo pipefail
source_dir=$1 build_dir=$2 seconds=$3
shift 3
targets=("$@")
[ $# -gt 0 ] || targets=(config echo_session proxy_header)
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S "$source_dir" -B "$build_dir" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="$flags" -DECHOD_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build_dir" --target "${targets[@]/%/_fuzz}" -j"$(nproc)" >/dev/null
mkdir -p "$build_dir/artifacts"
for target in "${targets[@]}"; do
    work=$(mktemp -d)
    budget=$seconds
    [ "$target" != proxy_header ] || budget=$(( seconds < 20 ? seconds : 20 ))
    dict=()
    [ ! -f "$source_dir/tests/fuzz/$target.dict" ] || dict=(-dict="$source_dir/tests/fuzz/$target.dict")
    echo "== ${target}_fuzz: $(ls "$source_dir/tests/fuzz/corpus/$target" | wc -l) corpus inputs, then ${budget}s of fuzzing"
    # The first directory collects new inputs; the checked-in one is only read.
    "$build_dir/${target}_fuzz" -max_total_time="$budget" -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$build_dir/artifacts/${target}-" "${dict[@]}" \
        "$work" "$source_dir/tests/fuzz/corpus/$target" 2>"$build_dir/${target}.log" &
    fuzzer=$!
    # libFuzzer's -timeout is a SIGALRM timer, and its handler interrupts whatever system
    # call the signal lands in. A harness must take that (EINTR) as no event; the echo
    # session harness once took it for a hang. 200 extra alarms in the first seconds make
    # that mistake show on every run instead of now and then.
    alarms_caught() { # SigCgt has bit 13 (SIGALRM) once libFuzzer installed its handler
        local mask
        mask=$(awk '/^SigCgt:/ {print $2}' "/proc/$fuzzer/status" 2>/dev/null) || return 1
        [ -n "$mask" ] && (( (16#$mask >> 13) & 1 ))
    }
    for _ in $(seq 100); do alarms_caught && break; sleep 0.05; done
    if alarms_caught; then
        for _ in $(seq 200); do kill -ALRM "$fuzzer" 2>/dev/null || break; sleep 0.01; done
    fi
    if ! wait "$fuzzer"; then
        tail -n 60 "$build_dir/${target}.log"
        echo "FAIL: ${target}_fuzz found a crash; the input is in $build_dir/artifacts/"
        rm -rf "$work"
        exit 1
    fi
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+.*DONE' "$build_dir/${target}.log" || true
    rm -rf "$work"
done
echo "PASS: no crash"
