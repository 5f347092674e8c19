# Empty compiler generated dependencies file for source_slots_test.
# This may be replaced when dependencies are built.
