# CMAKE generated file: DO NOT EDIT!
# Timestamp file for compiler generated dependencies management for fork_cost_echod_libs.
