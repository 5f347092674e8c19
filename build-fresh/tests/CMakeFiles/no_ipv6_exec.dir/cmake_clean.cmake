file(REMOVE_RECURSE
  "CMakeFiles/no_ipv6_exec.dir/no_ipv6_exec.cpp.o"
  "CMakeFiles/no_ipv6_exec.dir/no_ipv6_exec.cpp.o.d"
  "no_ipv6_exec"
  "no_ipv6_exec.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/no_ipv6_exec.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
