file(REMOVE_RECURSE
  "CMakeFiles/prefork_test.dir/prefork_test.cpp.o"
  "CMakeFiles/prefork_test.dir/prefork_test.cpp.o.d"
  "prefork_test"
  "prefork_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/prefork_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
