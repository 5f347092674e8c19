
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-sd/tests/echo_session_test.cpp" "tests/CMakeFiles/echo_session_test.dir/echo_session_test.cpp.o" "gcc" "tests/CMakeFiles/echo_session_test.dir/echo_session_test.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/wt-sd/build-fresh/tests/CMakeFiles/echod_test_harness.dir/DependInfo.cmake"
  "/work/wt-sd/build-fresh/CMakeFiles/echod_core.dir/DependInfo.cmake"
  "/work/wt-sd/build-fresh/CMakeFiles/echod_os.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
