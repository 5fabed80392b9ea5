-- A time string without a unit on line 2.
run { duration = "10" }
