file(REMOVE_RECURSE
  "CMakeFiles/fork_cost_echod_libs.dir/bench/fork_cost.cpp.o"
  "CMakeFiles/fork_cost_echod_libs.dir/bench/fork_cost.cpp.o.d"
  "fork_cost_echod_libs"
  "fork_cost_echod_libs.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/fork_cost_echod_libs.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
