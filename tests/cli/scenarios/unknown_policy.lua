-- Unknown placement policy on line 3.
cluster { nodes = 2 }
policy { placement = "teleport" }
app("web", "mem=64M")
