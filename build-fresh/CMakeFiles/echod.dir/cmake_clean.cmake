file(REMOVE_RECURSE
  "CMakeFiles/echod.dir/src/daemon/main.cpp.o"
  "CMakeFiles/echod.dir/src/daemon/main.cpp.o.d"
  "echod"
  "echod.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/echod.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
