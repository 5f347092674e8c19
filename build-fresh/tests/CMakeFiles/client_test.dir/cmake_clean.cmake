file(REMOVE_RECURSE
  "CMakeFiles/client_test.dir/client_test.cpp.o"
  "CMakeFiles/client_test.dir/client_test.cpp.o.d"
  "client_test"
  "client_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/client_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
