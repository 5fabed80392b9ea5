-- Unknown argument of poisson{} on line 4.
cluster { nodes = 2 }
app("web", "mem=64M")
poisson { app = "web", rat = 3 }
