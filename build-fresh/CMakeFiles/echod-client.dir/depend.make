# Empty dependencies file for echod-client.
# This may be replaced when dependencies are built.
