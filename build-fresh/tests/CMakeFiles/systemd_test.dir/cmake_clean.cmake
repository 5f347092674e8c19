file(REMOVE_RECURSE
  "CMakeFiles/systemd_test.dir/systemd_test.cpp.o"
  "CMakeFiles/systemd_test.dir/systemd_test.cpp.o.d"
  "systemd_test"
  "systemd_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/systemd_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
