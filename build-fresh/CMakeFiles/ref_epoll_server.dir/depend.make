# Empty dependencies file for ref_epoll_server.
# This may be replaced when dependencies are built.
