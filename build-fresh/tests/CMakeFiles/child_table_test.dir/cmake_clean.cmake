file(REMOVE_RECURSE
  "CMakeFiles/child_table_test.dir/child_table_test.cpp.o"
  "CMakeFiles/child_table_test.dir/child_table_test.cpp.o.d"
  "child_table_test"
  "child_table_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/child_table_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
