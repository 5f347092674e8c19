file(REMOVE_RECURSE
  "CMakeFiles/source_slots_worker.dir/source_slots_worker.cpp.o"
  "CMakeFiles/source_slots_worker.dir/source_slots_worker.cpp.o.d"
  "source_slots_worker"
  "source_slots_worker.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/source_slots_worker.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
