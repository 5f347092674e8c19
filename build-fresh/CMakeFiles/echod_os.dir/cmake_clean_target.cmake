file(REMOVE_RECURSE
  "libechod_os.a"
)
