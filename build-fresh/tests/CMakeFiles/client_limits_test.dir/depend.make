# Empty dependencies file for client_limits_test.
# This may be replaced when dependencies are built.
