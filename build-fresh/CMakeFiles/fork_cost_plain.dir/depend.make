# Empty dependencies file for fork_cost_plain.
# This may be replaced when dependencies are built.
