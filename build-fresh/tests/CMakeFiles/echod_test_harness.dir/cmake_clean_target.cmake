file(REMOVE_RECURSE
  "libechod_test_harness.a"
)
