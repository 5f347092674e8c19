# Empty compiler generated dependencies file for echod_core.
# This may be replaced when dependencies are built.
