# Empty compiler generated dependencies file for ref_fork_server_echod_libs.
# This may be replaced when dependencies are built.
