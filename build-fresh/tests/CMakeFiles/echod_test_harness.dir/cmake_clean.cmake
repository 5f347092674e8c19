file(REMOVE_RECURSE
  "CMakeFiles/echod_test_harness.dir/harness.cpp.o"
  "CMakeFiles/echod_test_harness.dir/harness.cpp.o.d"
  "libechod_test_harness.a"
  "libechod_test_harness.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/echod_test_harness.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
