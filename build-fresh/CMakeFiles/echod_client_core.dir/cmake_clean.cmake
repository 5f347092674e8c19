file(REMOVE_RECURSE
  "CMakeFiles/echod_client_core.dir/src/client/client.cpp.o"
  "CMakeFiles/echod_client_core.dir/src/client/client.cpp.o.d"
  "libechod_client_core.a"
  "libechod_client_core.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/echod_client_core.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
