-- SPDX-License-Identifier: MIT
-- prewarm.lua - golden scenario: the prewarm template policy under the
-- two placements no other golden log has (local, template-affinity), one
-- run each. Every node prewarms the top app (a) at start; requests are
-- counted per node: b, the first app asked of node 1, displaces a there
-- and is prewarmed; on node 2 "rare" does the same, so the b spawns
-- there wait for or fetch a template.
cluster { nodes = 3, vcpus = 4, memory = "2G", cache = "512M" }
policy { placement = { "local", "template-affinity" }, templates = "prewarm",
         prewarm = 1, fetch = "peer" }
run { duration = "2s" }

app("a", "mem=64M init=50ms work=10ms")
app("b", "mem=64M init=50ms work=10ms dirty=16")
app("rare", "mem=64M init=50ms work=10ms")

constant { app = "b", interval = "200ms", node = 1, start = "300ms" }
constant { app = "a", interval = "500ms", node = 0, start = "100ms" }

process(function()
  sleep(0.5)
  for i = 1, 2 do log("rare", wait(spawn("rare", 2))) end
  log("b on 2", wait(spawn("b", 2)))
  log("b on 2", wait(spawn("b", 2)))
end)
