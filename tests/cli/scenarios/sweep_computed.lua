-- SPDX-License-Identifier: MIT
-- Built-in settings computed from swept params (tests/cli sweep_test.sh
-- computed): eight 1-vCPU jobs of ~1 s at t=0 from node 0. How many run
-- at once on node 0 shows vcpus; whether any goes to node 1 shows
-- placement; seed and duration show run{}.
local c = param("c", 8)
local pl = param("pl", "least-loaded")
local d = param("d", 10)
cluster { nodes = 2, vcpus = c }
policy { placement = pl, templates = "none" }
run { duration = d .. "s", seed = param("s", 1) }
-- a param whose default is computed from another
local twice = param("twice", c * 2)
app("job", "mem=64M init=10ms work=1s")
bursts { app = "job", every = "20s", size = 8, node = 0 }
process(function() log("twice", twice, "vcpus", setting("vcpus")) end)
