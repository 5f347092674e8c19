# Empty dependencies file for echod_os.
# This may be replaced when dependencies are built.
