-- SPDX-License-Identifier: MIT
-- manyapps.lua - golden scenario: more apps per node than a template
-- cache keeps inline (UKF_TCACHE_INLINE, 8), so entries live in its
-- overflow block too; the cache holds 10 of the 14 templates (640M of
-- 64M each), so the LRU evicts, inline and overflow entries alike, and
-- templates are fetched from the peer. The expected log was made by the
-- build before the overflow block (all 64 entries inline) and must not
-- change.
cluster { nodes = 2, vcpus = 64, memory = "16G", cache = "640M" }
policy { placement = "least-loaded", templates = "on-demand", fetch = "peer" }
run { duration = "3s" }

for i = 1, 14 do
  app("m" .. i, "mem=64M init=20ms work=40ms dirty=8 fork=1")
  poisson { app = "m" .. i, rate = 2 + i % 3, stop = "2500ms" }
end
