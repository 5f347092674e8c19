# Empty dependencies file for ref_fork_server.
# This may be replaced when dependencies are built.
