file(REMOVE_RECURSE
  "CMakeFiles/robustness_test.dir/robustness_test.cpp.o"
  "CMakeFiles/robustness_test.dir/robustness_test.cpp.o.d"
  "robustness_test"
  "robustness_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/robustness_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
