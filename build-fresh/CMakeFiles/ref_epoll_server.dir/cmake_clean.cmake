file(REMOVE_RECURSE
  "CMakeFiles/ref_epoll_server.dir/bench/ref_epoll_server.cpp.o"
  "CMakeFiles/ref_epoll_server.dir/bench/ref_epoll_server.cpp.o.d"
  "ref_epoll_server"
  "ref_epoll_server.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/ref_epoll_server.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
