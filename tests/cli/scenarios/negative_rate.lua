-- Negative rate on line 5.
cluster { nodes = 2 }
run { duration = "1s" }
app("web", "mem=64M")
poisson { app = "web", rate = -5 }
