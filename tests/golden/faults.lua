-- SPDX-License-Identifier: MIT
-- faults.lua - golden scenario: the simulated backend injects faults
-- (cluster{ faults = ... }, sim/README.md "Fault injection"): failed cold
-- boots and clones, failed template makes and loads, failed delta saves
-- and crashed units, each reported to the requester or the waiting parent.
-- Two configurations (templates fetched from a peer, or booted cold on
-- each node) draw the same faults for the same requests.
cluster { nodes = 3, vcpus = 2, memory = "1G", latency = "100us",
          bandwidth = "200M",
          faults = "boot=0.4 clone=0.1 template=0.3 save_delta=0.3 crash=0.1" }
policy { placement = "least-loaded", templates = "on-demand",
         fetch = { "peer", "cold" } }
run { duration = "3s" }

app("fanout", "mem=64M init=50ms work=20ms dirty=64 fork=3")
app("web", "mem=32M init=20ms work=10ms")

constant { app = "web", interval = "300ms", node = 2 }

process(function()
  for i = 1, 5 do
    local id = spawn("fanout", 0)
    local ok = ready(id)
    log("fanout", i, "id", id, "ready", ok, "status", wait(id))
  end
end)
