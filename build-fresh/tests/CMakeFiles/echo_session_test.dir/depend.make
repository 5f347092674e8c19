# Empty dependencies file for echo_session_test.
# This may be replaced when dependencies are built.
