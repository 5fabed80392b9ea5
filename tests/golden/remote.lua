-- SPDX-License-Identifier: MIT
-- remote.lua - golden scenario: a fan-out app on small nodes, so children
-- are forked remotely and templates are fetched from peers.
cluster { nodes = 4, vcpus = 2, memory = "1G", latency = "100us",
          bandwidth = "100M" }
policy { placement = "least-loaded", templates = "on-demand", fetch = "peer" }
run { duration = "5s" }

app("fanout", "mem=128M init=80ms work=20ms dirty=512 fork=5")

process(function()
  for i = 1, 2 do
    local id = spawn("fanout", 0)
    log("fanout", i, "id", id, "status", wait(id))
  end
end)
