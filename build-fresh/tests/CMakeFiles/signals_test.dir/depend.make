# Empty dependencies file for signals_test.
# This may be replaced when dependencies are built.
