-- SPDX-License-Identifier: MIT
-- churn.lua - golden scenario: random node churn and a failure-detection
-- delay (sim/README.md "Churn", docs/scenarios.md churn{}). Every node
-- fails after an exponential up time (mean 3 s) and comes back after an
-- exponential repair time (mean 500 ms); the others notice a failure 100 ms
-- after it (node-detect), so requests placed there meanwhile are lost on
-- the way and placed again. The two placements of the sweep see the same
-- outages at the same times (one stream per node: common random numbers).
cluster { nodes = 4, vcpus = 4, memory = "2G", latency = "100us",
          bandwidth = "100M" }
policy { placement = { "least-loaded", "round-robin" },
         templates = "on-demand" }
run { duration = "8s" }
churn { mtbf = "3s", mttr = "500ms", detect = "100ms" }

app("svc", "mem=64M init=50ms work=400ms")

-- the workload: a request every 100 ms from a node that is up
process(function()
  for i = 1, 70 do
    local id = spawn("svc")
    process(function()
      local st, why = wait(id)
      log("svc", i, "id", id, "status", st, why or "")
    end)
    sleep("100ms")
  end
end)

-- who is down, every second
process(function()
  for t = 1, 7 do
    sleep("1s")
    local s = {}
    for n = 0, 3 do s[#s + 1] = node_state(n) end
    log("states", table.concat(s, " "))
  end
end)
