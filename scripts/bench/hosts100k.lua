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
-- Measured 2026-12-06 09:00-09:34 UTC on session 28's machine (load
-- 0.9-2.4), ten full runs: 1961582 1:33.5-1:39.8 wall (93-99 s user,
-- 415-417 MiB); with the chunked event queue (sim/queue.c) 1:27.6-1:46.4
-- wall (87-102 s user, 453-459 MiB), interleaved pair ratios 0.92-1.06;
-- the same events and result row. The same 1961582 took 2:14 on session
-- 27's machine: under 120 s here for both builds (README.md).
-- Measured 2026-12-05 19:28-19:41 UTC (RelWithDebInfo, load 1.0-3.0,
-- 9daf898 and 2d21a2c interleaved, two pairs): 142.7, 142.5 s user CPU
-- against 154.6, 160.2 s (within what one binary moves here), 450-451
-- MiB max RSS both, the same events and result row. Tried and dropped
-- (README.md): directory records applied in batches at the next read,
-- merging one node's records of one instant, LTO and PGO builds (-5%
-- and -12% instructions, no time gain beyond the noise): at this size
-- the time goes to cache misses, one node's state at random per event.
-- Measured 2026-12-05 16:21-17:41 UTC (RelWithDebInfo, load 1.1-3.1,
-- bfc9f0d and dd02bb3 interleaved, four pairs): 130.0-151.9 s user CPU
-- against 137.1-152.5 s (pair ratios 0.90-1.11, mean 0.98: the same
-- within the noise), 446 MiB against 812 MiB max RSS (template cache
-- with 8 inline entries, index tree nodes of 16 bytes), the same events
-- and result row. Tried and dropped: the directory's applies on a second
-- thread (each read of the directory waiting for them): the same results,
-- no shorter wall time (29.2-33.3 s against 29.4 s at requests=2000000
-- secs=20) for twice the CPU.
-- Measured 2026-12-05 13:42-14:13 UTC (RelWithDebInfo, load 1.5-3.0,
-- 8bab8c4 and 7edada7 interleaved, four pairs): 137-165 s user CPU (mean
-- 151.4 s) against 147-176 s (mean 160.4 s), pair ratios 0.895-1.015
-- (mean 0.945), 810-812 MiB, the same events and result row; the same
-- binary moved by up to 25% between runs minutes apart on this shared
-- machine. Cachegrind at --set requests=300000 --set secs=3: 10.05 -> 8.30
-- G instructions, D1 misses 132.9 -> 121.8 M, last-level misses about the
-- same (48.6 -> 48.1 M): at this size the misses, not the instructions,
-- take the time.
-- Measured 2026-12-05 10:35-10:43 UTC (RelWithDebInfo builds; this
-- 2-core machine at load average 2.2-5.0; scripts/bench/hosts100k.sh -b
-- build-perf, 1bc028b and c0a4b89 back to back): the full size 139.75 s
-- user CPU, 3:50 wall, 812 MiB max RSS (158,643,413 events, 1.135 M
-- events per user-CPU second); 1bc028b right before: 183.24 s user,
-- 3:53 wall, 804 MiB (0.866 M/s), the same events and latencies: 0.76x.
-- The largest part of the gain is transparent huge pages for the heap
-- (sim/huge.c, worlds of 4096+ nodes; THP in "madvise" mode as on
-- Debian; with THP "never" it is gone). Earlier: 170.3 s at e7f8b21
-- (load 2-7), 309 s at 7e3f778 (load 13-17): user CPU grows with the
-- machine's load, so compare within one window. At hosts=10000
-- requests=1000000, interleaved with 1bc028b: 5.4-6.5 s user, 88 MiB
-- (1bc028b 7.0-7.1 s, 98 MiB). Memory: about 8.2 KiB per host beyond the
-- 10,000-host run ((831,652 - 90,392) KiB / 90,000 hosts; both sizes
-- make 100 requests per host, so this is per host at that load).
-- Per host and per app (2026-12-05 19:43 UTC, 9daf898, same commands,
-- N = 1, 2, 4, 8, 32): hosts=100000 253,720 / 255,940 / 255,792 /
-- 260,424 / 278,456 KiB, hosts=50000 136,584 / 135,432 / 136,328 /
-- 139,120 / 150,768: about 2.4 KiB per host plus about 0.8 MiB per app
-- per 100k hosts (who holds a template is now a bitmap, not a 4 MiB
-- tree; template-affinity placement still makes the trees: ~5.1 MiB per
-- app with it).
-- Per host and per app (2026-12-05 16:19 UTC, bfc9f0d, RelWithDebInfo,
-- load average 3.6-3.8; max RSS of
--   /usr/bin/time -v build/ukfork run scripts/bench/hosts100k.lua \
--     --set hosts=H --set requests=1000 --set napps=N
-- for H = 100000, 50000 and N = 1, 2, 4, 8; KiB): hosts=100000
-- 253,500 / 256,820 / 268,900 / 287,108, hosts=50000 133,300 /
-- 134,956 / 138,900 / 148,452: about 2.4 KiB per host plus about
-- 4.8 MiB per app per 100k hosts (~49 bytes per host per app) plus
-- ~13 MiB fixed; the issue's baseline was ~3.3 KiB plus ~2.2 MiB. At
-- f7930be (13:45 UTC) 5.5 KiB plus 9.0 MiB: since then a template cache
-- keeps 8 entries inline, not 64, and the directory's index tree nodes
-- take 16 bytes, not 32 (README.md, "Simulator at 100,000 hosts").
-- Instructions per event are flat in the size (cachegrind, e7f8b21:
-- 1,690 at hosts=1000, 1,708 at hosts=3000); CPU per event grows with
-- it: cache and TLB misses, which the world hides in part by
-- prefetching each next event's lines.

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
