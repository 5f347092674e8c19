file(REMOVE_RECURSE
  "CMakeFiles/limits_test.dir/limits_test.cpp.o"
  "CMakeFiles/limits_test.dir/limits_test.cpp.o.d"
  "limits_test"
  "limits_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/limits_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
