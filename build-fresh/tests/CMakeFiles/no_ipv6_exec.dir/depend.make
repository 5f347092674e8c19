# Empty dependencies file for no_ipv6_exec.
# This may be replaced when dependencies are built.
