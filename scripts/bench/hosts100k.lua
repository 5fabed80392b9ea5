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
-- Measured 2026-12-05 08:00 UTC (build e7f8b21: cf60d7b's simulator; this
-- 2-core machine at load average 2-7; scripts/bench/hosts100k.sh -b
-- build-perf): the full size 170.3 s user CPU, 4:32.6 wall, 805 MiB max
-- RSS (158,643,413 events, 0.93 M events per user-CPU second); efc0caa
-- (before the next-event prefetch) right after it: 199.4 s user, 805 MiB,
-- the same events and latencies (0.854). The session before measured
-- 309 s and 762 MiB at 7e3f778 at load average 13-17: user CPU grows
-- with the machine's load, so compare within one run. At
-- hosts=10000 requests=1000000: 8.0-8.6 s user, 99 MiB (efc0caa 9.3-9.8 s,
-- interleaved). Memory: about 8.0 KiB per host beyond the 10,000-host run
-- ((824,484 - 101,016) KiB / 90,000 hosts; both sizes make 100 requests
-- per host, so this is per host at that load). Instructions per event are
-- flat in the size (cachegrind: 1,690 at hosts=1000, 1,708 at
-- hosts=3000); CPU per event grows with it: cache misses, which the world
-- now hides in part by prefetching each next event's lines.

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
