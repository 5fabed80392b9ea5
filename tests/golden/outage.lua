-- SPDX-License-Identifier: MIT
-- outage.lua - golden scenario: node and link failures as scenario events
-- (sim/README.md "Node and link failures"). Node 2 fails while it runs
-- instances (they end as failed, "node 2 lost: ...", and their waiters are
-- told), takes no work while down, and comes back empty (its template is
-- gone: it fetches or makes it again). Then node 1's link is cut: its
-- transfers are lost, the others stop placing on it, until it is restored.
cluster { nodes = 3, vcpus = 4, memory = "2G", latency = "100us",
          bandwidth = "100M" }
policy { placement = "least-loaded", templates = "on-demand" }
run { duration = "6s" }

app("svc", "mem=64M init=50ms work=800ms")

-- the workload: front door node 0, one request every 100 ms
process(function()
  for i = 1, 40 do
    local id = spawn("svc", 0)
    process(function()
      local st, why = wait(id)
      log("svc", i, "id", id, "status", st, why or "")
    end)
    sleep("100ms")
  end
end)

-- the outages
process(function()
  -- (at 1.5 s: node 2 then runs instances whatever the first template
  -- fetches' timing; at 1 s, since the cold boot's one draw, they waited
  -- on fetches sharing node 0's link and none ran there)
  sleep("1.5s")
  log("fail node 2, state", node_state(2))
  fail_node(2, "power lost")
  log("node 2 is", node_state(2))
  sleep("500ms")
  recover_node(2)
  log("node 2 is", node_state(2))
  sleep("500ms")
  fail_link(1, "switch port down")
  log("node 1 is", node_state(1))
  sleep("700ms")
  recover_link(1)
  log("node 1 is", node_state(1))
end)
