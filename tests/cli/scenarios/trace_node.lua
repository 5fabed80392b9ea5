-- A trace line naming a node the cluster lacks (used on line 4).
cluster { nodes = 2 }
app("web", "mem=64M")
trace { file = "badnode.trace" }
