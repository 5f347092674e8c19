
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-sd/src/child/child.cpp" "CMakeFiles/echod_core.dir/src/child/child.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/child/child.cpp.o.d"
  "/work/wt-sd/src/child/echo_session.cpp" "CMakeFiles/echod_core.dir/src/child/echo_session.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/child/echo_session.cpp.o.d"
  "/work/wt-sd/src/child/prefork_child.cpp" "CMakeFiles/echod_core.dir/src/child/prefork_child.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/child/prefork_child.cpp.o.d"
  "/work/wt-sd/src/common/client_counts.cpp" "CMakeFiles/echod_core.dir/src/common/client_counts.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/common/client_counts.cpp.o.d"
  "/work/wt-sd/src/common/signals.cpp" "CMakeFiles/echod_core.dir/src/common/signals.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/common/signals.cpp.o.d"
  "/work/wt-sd/src/common/source_slots.cpp" "CMakeFiles/echod_core.dir/src/common/source_slots.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/common/source_slots.cpp.o.d"
  "/work/wt-sd/src/daemon/child_table.cpp" "CMakeFiles/echod_core.dir/src/daemon/child_table.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/child_table.cpp.o.d"
  "/work/wt-sd/src/daemon/config.cpp" "CMakeFiles/echod_core.dir/src/daemon/config.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/config.cpp.o.d"
  "/work/wt-sd/src/daemon/config_keys.cpp" "CMakeFiles/echod_core.dir/src/daemon/config_keys.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/config_keys.cpp.o.d"
  "/work/wt-sd/src/daemon/config_text.cpp" "CMakeFiles/echod_core.dir/src/daemon/config_text.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/config_text.cpp.o.d"
  "/work/wt-sd/src/daemon/config_values.cpp" "CMakeFiles/echod_core.dir/src/daemon/config_values.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/config_values.cpp.o.d"
  "/work/wt-sd/src/daemon/limit_episode.cpp" "CMakeFiles/echod_core.dir/src/daemon/limit_episode.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/limit_episode.cpp.o.d"
  "/work/wt-sd/src/daemon/listener.cpp" "CMakeFiles/echod_core.dir/src/daemon/listener.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/listener.cpp.o.d"
  "/work/wt-sd/src/daemon/log.cpp" "CMakeFiles/echod_core.dir/src/daemon/log.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/log.cpp.o.d"
  "/work/wt-sd/src/daemon/log_events.cpp" "CMakeFiles/echod_core.dir/src/daemon/log_events.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/log_events.cpp.o.d"
  "/work/wt-sd/src/daemon/master.cpp" "CMakeFiles/echod_core.dir/src/daemon/master.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/master.cpp.o.d"
  "/work/wt-sd/src/daemon/master_children.cpp" "CMakeFiles/echod_core.dir/src/daemon/master_children.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/master_children.cpp.o.d"
  "/work/wt-sd/src/daemon/master_prefork.cpp" "CMakeFiles/echod_core.dir/src/daemon/master_prefork.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/master_prefork.cpp.o.d"
  "/work/wt-sd/src/daemon/pid_file.cpp" "CMakeFiles/echod_core.dir/src/daemon/pid_file.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/pid_file.cpp.o.d"
  "/work/wt-sd/src/daemon/privileges.cpp" "CMakeFiles/echod_core.dir/src/daemon/privileges.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/privileges.cpp.o.d"
  "/work/wt-sd/src/daemon/reload_request.cpp" "CMakeFiles/echod_core.dir/src/daemon/reload_request.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/reload_request.cpp.o.d"
  "/work/wt-sd/src/daemon/service_manager.cpp" "CMakeFiles/echod_core.dir/src/daemon/service_manager.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/service_manager.cpp.o.d"
  "/work/wt-sd/src/daemon/systemd_protocol.cpp" "CMakeFiles/echod_core.dir/src/daemon/systemd_protocol.cpp.o" "gcc" "CMakeFiles/echod_core.dir/src/daemon/systemd_protocol.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/wt-sd/build-fresh/CMakeFiles/echod_os.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
