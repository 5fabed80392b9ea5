-- SPDX-License-Identifier: MIT
-- A world that goes idle before `duration` (arrivals stop at 2 s, the
-- last instance exits near 1.93 s), sampled at several periods
-- (tests/cli/cli_more.sh samples_end): samples observe the run, they do
-- not change its end.
cluster { nodes = 2, vcpus = 4, memory = "4G" }
run { duration = param("dur", "20s"), sample_every = param("se", "1s") }
app("web", "mem=64M init=30ms work=100ms")
poisson { app = "web", rate = 10, stop = "2s" }
process(function() for i = 1, 5 do spawn("web") sleep("200ms") end end)
