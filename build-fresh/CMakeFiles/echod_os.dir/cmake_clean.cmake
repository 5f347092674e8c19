file(REMOVE_RECURSE
  "CMakeFiles/echod_os.dir/src/os/address.cpp.o"
  "CMakeFiles/echod_os.dir/src/os/address.cpp.o.d"
  "CMakeFiles/echod_os.dir/src/os/standard_descriptors.cpp.o"
  "CMakeFiles/echod_os.dir/src/os/standard_descriptors.cpp.o.d"
  "CMakeFiles/echod_os.dir/src/os/sys_error.cpp.o"
  "CMakeFiles/echod_os.dir/src/os/sys_error.cpp.o.d"
  "libechod_os.a"
  "libechod_os.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/echod_os.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
