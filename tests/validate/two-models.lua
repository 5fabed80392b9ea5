-- SPDX-License-Identifier: MIT
-- two-models.lua - a small simulated workload for tests/validate: cold boots, template clones and live forks on two nodes, run under two cost models to give `ukfork validate --from-db` a known difference.
cluster { nodes = 2, vcpus = 16, memory = "4G" }
policy  { placement = "round-robin", templates = "on-demand", fetch = "peer" }
run     { duration = "30s" }

app("a", "mem=8M init=2ms work=5ms dirty=64")
app("f", "mem=16M init=2ms work=5ms dirty=128 fork=2 units=1")
poisson { app = "a", rate = 10, start = "0s", stop = "20s" }
poisson { app = "f", rate = 5, start = "1s", stop = "20s" }
