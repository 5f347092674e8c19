# Empty compiler generated dependencies file for systemd_protocol_test.
# This may be replaced when dependencies are built.
