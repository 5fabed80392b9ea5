-- SPDX-License-Identifier: MIT
-- hosts100k.lua - 100,000 hosts, 10,000,000 fork/spawn requests, host CPU
-- contention on, placement that spreads load (least-loaded).
--
--   scripts/bench/hosts100k.sh [-b BUILD_DIR] [--set hosts=N --set requests=M ...]
--   /usr/bin/time -v ukfork run scripts/bench/hosts100k.lua --quiet
--
-- requests/2 spawns arrive as Poisson processes over `napps` apps within
-- `secs` seconds; each instance forks once (fork=1), so every spawn also
-- makes a live fork, local or remote: `requests` requests in all. Every
-- host has `host_cores` physical cores (0: contention off) shared by its
-- instances' guest work (sim/cpu.c). A smaller size runs in seconds
-- (one --set per parameter):
--   ukfork run scripts/bench/hosts100k.lua --set hosts=1000 --set requests=100000
--
-- Measured 2026-12-05 (build 7e3f778/828697f, RelWithDebInfo, this 2-core
-- machine at load average 13-17): the full size 309 s user CPU, 762 MiB
-- max RSS (158,643,413 events, 0.51 M events per user-CPU second); at
-- hosts=10000 requests=1000000 14.2 s, 98 MiB; at hosts=1000
-- requests=100000 0.59 s, 16 MiB. Memory: about 7.5 KiB per host beyond
-- the 10,000-host run ((762 - 98) MiB / 90,000 hosts; both sizes make 100
-- requests per host, so this is per host at that load). Instructions per event are flat in the size (cachegrind: 1,690
-- at hosts=1000, 1,708 at hosts=3000); CPU per event grows with it
-- (0.37 us at 1,000 hosts, 0.89 at 10,000, 1.95 at 100,000): cache misses.

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
