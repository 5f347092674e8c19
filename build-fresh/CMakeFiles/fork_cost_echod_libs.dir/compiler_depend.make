# Empty compiler generated dependencies file for fork_cost_echod_libs.
# This may be replaced when dependencies are built.
