-- SPDX-License-Identifier: MIT
-- A forking parent's node fails while children of it wait on other nodes
-- for the template version of their delta (tests/cli/faults_test.sh
-- fork_origin_lost): each request keeps one row and the run does not
-- stall. --set tf= is when node 1 fails.
cluster { nodes = 4, vcpus = 8, memory = "8G", bandwidth = "100M",
          latency = "100us" }
policy { placement = "least-loaded", templates = "on-demand" }
run { duration = "20s" }
app("fan", "mem=128M init=50ms work=200ms dirty=2048 fork=4 units=2")
local tf = param("tf", 0.7)
process(function()
  for i = 1, 10 do
    local id = spawn("fan", 0)
    process(function() local st, why = wait(id); log("w", id, st, why or "") end)
    sleep("150ms")
  end
end)
process(function()
  sleep(tf)
  fail_node(1, "parent host dies")
  sleep("2s")
  recover_node(1)
end)
