file(REMOVE_RECURSE
  "CMakeFiles/ref_fork_server.dir/bench/ref_fork_server.cpp.o"
  "CMakeFiles/ref_fork_server.dir/bench/ref_fork_server.cpp.o.d"
  "ref_fork_server"
  "ref_fork_server.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/ref_fork_server.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
