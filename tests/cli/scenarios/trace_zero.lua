-- A trace that is not a regular file (line 5): refused, not read.
cluster { nodes = 1 }
run { duration = "1s" }
app("web", "mem=64M")
trace { file = "/dev/zero" }
