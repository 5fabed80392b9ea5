-- A small valid scenario used by the command-line tests.
cluster { nodes = 2, vcpus = 4, memory = "4G" }
policy { placement = "least-loaded" }
run { duration = "2s" }
app("web", "mem=64M init=50ms work=10ms dirty=16")
poisson { app = "web", rate = 20 }
