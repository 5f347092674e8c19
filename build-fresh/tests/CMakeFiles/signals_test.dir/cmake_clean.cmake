file(REMOVE_RECURSE
  "CMakeFiles/signals_test.dir/signals_test.cpp.o"
  "CMakeFiles/signals_test.dir/signals_test.cpp.o.d"
  "signals_test"
  "signals_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/signals_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
