# Empty dependencies file for echod_client_core.
# This may be replaced when dependencies are built.
