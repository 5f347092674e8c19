# Empty compiler generated dependencies file for echod_test_harness.
# This may be replaced when dependencies are built.
