file(REMOVE_RECURSE
  "libechod_client_core.a"
)
