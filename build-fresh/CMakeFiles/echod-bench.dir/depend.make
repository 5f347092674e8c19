# Empty dependencies file for echod-bench.
# This may be replaced when dependencies are built.
