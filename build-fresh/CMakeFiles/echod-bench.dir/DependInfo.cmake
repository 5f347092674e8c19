
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-sd/bench/bench_exchange.cpp" "CMakeFiles/echod-bench.dir/bench/bench_exchange.cpp.o" "gcc" "CMakeFiles/echod-bench.dir/bench/bench_exchange.cpp.o.d"
  "/work/wt-sd/bench/bench_hold.cpp" "CMakeFiles/echod-bench.dir/bench/bench_hold.cpp.o" "gcc" "CMakeFiles/echod-bench.dir/bench/bench_hold.cpp.o.d"
  "/work/wt-sd/bench/bench_net.cpp" "CMakeFiles/echod-bench.dir/bench/bench_net.cpp.o" "gcc" "CMakeFiles/echod-bench.dir/bench/bench_net.cpp.o.d"
  "/work/wt-sd/bench/bench_options.cpp" "CMakeFiles/echod-bench.dir/bench/bench_options.cpp.o" "gcc" "CMakeFiles/echod-bench.dir/bench/bench_options.cpp.o.d"
  "/work/wt-sd/bench/bench_proc_tree.cpp" "CMakeFiles/echod-bench.dir/bench/bench_proc_tree.cpp.o" "gcc" "CMakeFiles/echod-bench.dir/bench/bench_proc_tree.cpp.o.d"
  "/work/wt-sd/bench/bench_rate.cpp" "CMakeFiles/echod-bench.dir/bench/bench_rate.cpp.o" "gcc" "CMakeFiles/echod-bench.dir/bench/bench_rate.cpp.o.d"
  "/work/wt-sd/bench/bench_report.cpp" "CMakeFiles/echod-bench.dir/bench/bench_report.cpp.o" "gcc" "CMakeFiles/echod-bench.dir/bench/bench_report.cpp.o.d"
  "/work/wt-sd/bench/bench_stream.cpp" "CMakeFiles/echod-bench.dir/bench/bench_stream.cpp.o" "gcc" "CMakeFiles/echod-bench.dir/bench/bench_stream.cpp.o.d"
  "/work/wt-sd/bench/echod_bench.cpp" "CMakeFiles/echod-bench.dir/bench/echod_bench.cpp.o" "gcc" "CMakeFiles/echod-bench.dir/bench/echod_bench.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
