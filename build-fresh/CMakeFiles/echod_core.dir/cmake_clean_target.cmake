file(REMOVE_RECURSE
  "libechod_core.a"
)
