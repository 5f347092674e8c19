# Empty dependencies file for echod.
# This may be replaced when dependencies are built.
