# Empty compiler generated dependencies file for systemd_test.
# This may be replaced when dependencies are built.
