# Empty compiler generated dependencies file for source_slots_worker.
# This may be replaced when dependencies are built.
