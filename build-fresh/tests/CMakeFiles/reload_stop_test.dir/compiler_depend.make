# Empty compiler generated dependencies file for reload_stop_test.
# This may be replaced when dependencies are built.
