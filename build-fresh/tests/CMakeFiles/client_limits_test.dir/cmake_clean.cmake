file(REMOVE_RECURSE
  "CMakeFiles/client_limits_test.dir/client_limits_test.cpp.o"
  "CMakeFiles/client_limits_test.dir/client_limits_test.cpp.o.d"
  "client_limits_test"
  "client_limits_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/client_limits_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
