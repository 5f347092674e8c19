file(REMOVE_RECURSE
  "CMakeFiles/man"
  "man/echod.8.gz"
  "man/echod.conf.5.gz"
)

# Per-language clean rules from dependency scanning.
foreach(lang )
  include(CMakeFiles/man.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
