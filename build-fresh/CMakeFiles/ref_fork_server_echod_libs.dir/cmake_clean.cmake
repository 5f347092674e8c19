file(REMOVE_RECURSE
  "CMakeFiles/ref_fork_server_echod_libs.dir/bench/ref_fork_server.cpp.o"
  "CMakeFiles/ref_fork_server_echod_libs.dir/bench/ref_fork_server.cpp.o.d"
  "CMakeFiles/ref_fork_server_echod_libs.dir/bench/with_echod_libs.cpp.o"
  "CMakeFiles/ref_fork_server_echod_libs.dir/bench/with_echod_libs.cpp.o.d"
  "ref_fork_server_echod_libs"
  "ref_fork_server_echod_libs.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/ref_fork_server_echod_libs.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
