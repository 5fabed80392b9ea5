-- hosts{} declare 3 nodes, cluster{} says 5 (line 4 names the group).
cluster { nodes = 5 }
app("web", "mem=64M")
hosts { count = 3 }
