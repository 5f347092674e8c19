file(REMOVE_RECURSE
  "CMakeFiles/systemd_protocol_test.dir/systemd_protocol_test.cpp.o"
  "CMakeFiles/systemd_protocol_test.dir/systemd_protocol_test.cpp.o.d"
  "systemd_protocol_test"
  "systemd_protocol_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/systemd_protocol_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
