-- SPDX-License-Identifier: MIT
-- quickstart.lua - a small cluster, a bursty workload, three placement
-- policies compared side by side (the README's main job).
--
--   ukfork run scripts/examples/quickstart.lua --db quickstart.db
--   ukfork report quickstart.db
--
-- Every run sees the same arrivals (common random numbers): the only
-- difference between the three configurations is the placement policy.

cluster {
  nodes = 8,          -- hosts
  vcpus = 8,          -- per host
  memory = "16G",     -- per host, for instances
  cache = "1G",       -- per host, template cache budget
  latency = "50us",   -- one-way network latency
  bandwidth = "1G",   -- bytes/s per host link
}

policy {
  placement = { "random", "least-loaded", "template-affinity" },  -- a sweep
  templates = "on-demand",
  fetch = "peer",
}

run { duration = "20s", sample_every = "1s" }

-- Applications, described like the synth guest app (docs/scenarios.md).
app("web",   "mem=64M init=50ms work=10ms dirty=256")
app("api",   "mem=128M init=200ms work=20ms dirty=512 fork=2")
app("batch", "mem=256M init=500ms work=100ms dirty=1024 fork=4")

-- The workload: steady web traffic, bursts of API calls, a trickle of
-- batch jobs.
poisson { app = "web", rate = 40 }
bursts  { app = "api", every = "2s", size = 30, spread = "200ms" }
poisson { app = "batch", rate = 1 }
