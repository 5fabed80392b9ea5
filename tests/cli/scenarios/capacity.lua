-- An app bigger than any node, declared on line 4.
cluster { nodes = 4, memory = "1G" }
app("web", "mem=64M")
app("huge", "mem=2G init=10ms")
poisson { app = "huge", rate = 1 }
