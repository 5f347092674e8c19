# CMake generated Testfile for 
# Source directory: /work/wt-sd
# Build directory: /work/wt-sd/build-fresh
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
subdirs("tests")
