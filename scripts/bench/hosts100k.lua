-- SPDX-License-Identifier: MIT
-- hosts100k.lua - 100,000 hosts, 10,000,000 fork/spawn requests, host CPU
-- contention on, placement that spreads load (least-loaded).
--
--   scripts/bench/hosts100k.sh [BUILD_DIR] [--set hosts=N,requests=M,...]
--   /usr/bin/time -v ukfork run scripts/bench/hosts100k.lua --quiet
--
-- requests/2 spawns arrive as Poisson processes over `napps` apps within
-- `secs` seconds; each instance forks once (fork=1), so every spawn also
-- makes a live fork, local or remote: `requests` requests in all. Every
-- host has `host_cores` physical cores (0: contention off) shared by its
-- instances' guest work (sim/cpu.c). A smaller size runs in seconds:
--   ukfork run scripts/bench/hosts100k.lua --set hosts=1000,requests=100000

local hosts = param("hosts", 100000)
local requests = param("requests", 10000000)
local cores = param("host_cores", 4)
local napps = param("napps", 8)
local secs = param("secs", 100)
local spawns = requests // 2

cluster { nodes = hosts, vcpus = 16, memory = "32G", cache = "2G",
          cores = cores }
policy { placement = param("pl", "least-loaded"),
         templates = "on-demand" }
run { duration = (secs + 5) .. "s", seed = 7 }

for i = 1, napps do
  app("svc" .. i, "mem=64M init=50ms work=20ms dirty=64 fork=1")
  poisson { app = "svc" .. i, rate = spawns / secs / napps,
            stop = secs .. "s" }
end
