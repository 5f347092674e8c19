file(REMOVE_RECURSE
  "CMakeFiles/source_slots_test.dir/source_slots_test.cpp.o"
  "CMakeFiles/source_slots_test.dir/source_slots_test.cpp.o.d"
  "source_slots_test"
  "source_slots_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/source_slots_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
