-- SPDX-License-Identifier: MIT
-- net_bench.lua - cost of the network models: many concurrent remote
-- transfers (template fetches from peers into small caches, remote forks
-- shipping deltas) on 256 hosts, per-link or max-min in racks.
--
--   ukfork run tests/sim/net_bench.lua --quiet --set net=per-link
--   ukfork run tests/sim/net_bench.lua --quiet --set net=max-min
--   ukfork run tests/sim/net_bench.lua --quiet --set net=racks
local net = param("net", "per-link")
local secs = param("secs", 20)

cluster { nodes = 256, vcpus = 8, memory = "16G", cache = "512M",
          bandwidth = "1.25G" }
policy { placement = "random", templates = "on-demand", fetch = "peer" }
run { duration = (secs + 5) .. "s", seed = 3 }
if net == "max-min" then
  network { sharing = "max-min" }
elseif net == "racks" then
  -- 16 racks of 16 hosts, uplinks 4:1 oversubscribed, a 40 GB/s core
  network { racks = 16, rack_uplink = "5G", core = "40G" }
end

for i = 1, 16 do
  app("svc" .. i, "mem=256M init=20ms work=50ms dirty=4096 fork=2")
  poisson { app = "svc" .. i, rate = 1000 / 16, stop = secs .. "s" }
end
