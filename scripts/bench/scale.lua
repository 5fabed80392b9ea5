-- SPDX-License-Identifier: MIT
-- scale.lua - 10,000 hosts and 1,000,000 fork/spawn requests through the
-- full protocol with template-affinity placement.
--
--   /usr/bin/time -v ukfork run scripts/bench/scale.lua --quiet
--
-- 1,000,000 requests: 500,000 spawns arriving as Poisson processes over
-- 8 apps, each instance forking once (fork=1) - every spawn also makes a
-- live fork, local or remote. ukfork prints events and events/s; run it
-- under /usr/bin/time -v for the peak RSS.

local spawns = param("spawns", 500000)
local secs = 100

cluster { nodes = 10000, vcpus = 16, memory = "32G", cache = "2G" }
policy { placement = "template-affinity", templates = "on-demand" }
run { duration = (secs + 5) .. "s", seed = 7 }

local napps = 8
for i = 1, napps do
  app("svc" .. i, "mem=64M init=50ms work=20ms dirty=64 fork=1")
  poisson { app = "svc" .. i, rate = spawns / secs / napps,
            stop = secs .. "s" }
end
