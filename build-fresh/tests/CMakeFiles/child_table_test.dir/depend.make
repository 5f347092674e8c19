# Empty dependencies file for child_table_test.
# This may be replaced when dependencies are built.
