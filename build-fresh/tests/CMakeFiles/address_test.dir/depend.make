# Empty dependencies file for address_test.
# This may be replaced when dependencies are built.
