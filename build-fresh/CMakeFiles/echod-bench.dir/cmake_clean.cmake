file(REMOVE_RECURSE
  "CMakeFiles/echod-bench.dir/bench/bench_exchange.cpp.o"
  "CMakeFiles/echod-bench.dir/bench/bench_exchange.cpp.o.d"
  "CMakeFiles/echod-bench.dir/bench/bench_hold.cpp.o"
  "CMakeFiles/echod-bench.dir/bench/bench_hold.cpp.o.d"
  "CMakeFiles/echod-bench.dir/bench/bench_net.cpp.o"
  "CMakeFiles/echod-bench.dir/bench/bench_net.cpp.o.d"
  "CMakeFiles/echod-bench.dir/bench/bench_options.cpp.o"
  "CMakeFiles/echod-bench.dir/bench/bench_options.cpp.o.d"
  "CMakeFiles/echod-bench.dir/bench/bench_proc_tree.cpp.o"
  "CMakeFiles/echod-bench.dir/bench/bench_proc_tree.cpp.o.d"
  "CMakeFiles/echod-bench.dir/bench/bench_rate.cpp.o"
  "CMakeFiles/echod-bench.dir/bench/bench_rate.cpp.o.d"
  "CMakeFiles/echod-bench.dir/bench/bench_report.cpp.o"
  "CMakeFiles/echod-bench.dir/bench/bench_report.cpp.o.d"
  "CMakeFiles/echod-bench.dir/bench/bench_stream.cpp.o"
  "CMakeFiles/echod-bench.dir/bench/bench_stream.cpp.o.d"
  "CMakeFiles/echod-bench.dir/bench/echod_bench.cpp.o"
  "CMakeFiles/echod-bench.dir/bench/echod_bench.cpp.o.d"
  "echod-bench"
  "echod-bench.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/echod-bench.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
