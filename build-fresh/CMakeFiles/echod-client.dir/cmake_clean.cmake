file(REMOVE_RECURSE
  "CMakeFiles/echod-client.dir/src/client/echod_client.cpp.o"
  "CMakeFiles/echod-client.dir/src/client/echod_client.cpp.o.d"
  "echod-client"
  "echod-client.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/echod-client.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
