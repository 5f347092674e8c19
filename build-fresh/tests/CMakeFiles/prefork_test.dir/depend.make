# Empty dependencies file for prefork_test.
# This may be replaced when dependencies are built.
