file(REMOVE_RECURSE
  "CMakeFiles/fork_cost_plain.dir/bench/fork_cost.cpp.o"
  "CMakeFiles/fork_cost_plain.dir/bench/fork_cost.cpp.o.d"
  "fork_cost_plain"
  "fork_cost_plain.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/fork_cost_plain.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
