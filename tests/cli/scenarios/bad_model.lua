-- A cost model file that does not exist (line 3).
cluster { nodes = 2 }
run { model = "no-such-model.conf" }
app("web", "mem=64M")
