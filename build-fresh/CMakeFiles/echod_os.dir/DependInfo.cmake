
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-sd/src/os/address.cpp" "CMakeFiles/echod_os.dir/src/os/address.cpp.o" "gcc" "CMakeFiles/echod_os.dir/src/os/address.cpp.o.d"
  "/work/wt-sd/src/os/standard_descriptors.cpp" "CMakeFiles/echod_os.dir/src/os/standard_descriptors.cpp.o" "gcc" "CMakeFiles/echod_os.dir/src/os/standard_descriptors.cpp.o.d"
  "/work/wt-sd/src/os/sys_error.cpp" "CMakeFiles/echod_os.dir/src/os/sys_error.cpp.o" "gcc" "CMakeFiles/echod_os.dir/src/os/sys_error.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
