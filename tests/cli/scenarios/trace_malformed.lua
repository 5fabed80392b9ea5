-- A trace file whose third line is malformed, used on line 5.
cluster { nodes = 2 }
run { duration = "1s" }
app("web", "mem=64M")
trace { file = "bad.trace" }
