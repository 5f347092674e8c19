file(REMOVE_RECURSE
  "CMakeFiles/reload_stop_test.dir/reload_stop_test.cpp.o"
  "CMakeFiles/reload_stop_test.dir/reload_stop_test.cpp.o.d"
  "reload_stop_test"
  "reload_stop_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/reload_stop_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
