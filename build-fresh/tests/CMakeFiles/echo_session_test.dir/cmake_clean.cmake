file(REMOVE_RECURSE
  "CMakeFiles/echo_session_test.dir/echo_session_test.cpp.o"
  "CMakeFiles/echo_session_test.dir/echo_session_test.cpp.o.d"
  "echo_session_test"
  "echo_session_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/echo_session_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
