-- Bad app parameter on line 3.
cluster { nodes = 2 }
app("web", "mem=lots init=50ms")
