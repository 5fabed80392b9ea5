-- SPDX-License-Identifier: MIT
-- quickstart.lua - a small cluster, a bursty workload, three placement
-- policies compared side by side (the README's main job).
--
--   ukfork run scripts/examples/quickstart.lua --db quickstart.db
--   ukfork report quickstart.db
--
-- Every run sees the same arrivals (common random numbers): the only
-- difference between the three configurations is the placement policy.
--
-- With --backend kvm the world is this one machine (one node): the same
-- apps and policies under a lighter load (backend() == "kvm": about 1/10
-- of the requests, arriving for 2.5 s; the run ends once every instance
-- has finished, with `duration` as a 10 s deadline; --set kvm_stretch=F
-- spreads the arrivals over F times as long). Placement has one node to choose from there; the
-- run shows real boot, template and fork costs, not the policies' effect.

local kvm = backend() == "kvm"

cluster {
  nodes = kvm and 1 or 8, -- hosts
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

run { duration = kvm and "10s" or "20s", sample_every = kvm and "100ms" or "1s" }

-- Applications, described like the synth guest app (docs/scenarios.md).
app("web",   "mem=64M init=50ms work=10ms dirty=256")
app("api",   "mem=128M init=200ms work=20ms dirty=512 fork=2")
app("batch", "mem=256M init=500ms work=100ms dirty=1024 fork=4")

-- The workload: steady web traffic, bursts of API calls, a trickle of
-- batch jobs.
-- On kvm, --set kvm_stretch=F spreads the same number of arrivals over F
-- times the window (for a slow or emulated KVM such as scripts/kvm-vm).
local f = param("kvm_stretch", 1) -- used on kvm only
local stop = kvm and (2.5 * f .. "s") or nil   -- nil: arrivals until the end
poisson { app = "web", rate = kvm and 4 / f or 40, stop = stop }
bursts  { app = "api", every = (2 * f) .. "s", size = kvm and 3 or 30,
          spread = "200ms", stop = stop }
poisson { app = "batch", rate = kvm and 0.5 / f or 1, stop = stop }
