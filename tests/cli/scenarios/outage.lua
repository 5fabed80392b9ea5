-- outage.lua - a node failed then recovered and a link cut then restored
-- (cli_more.sh outage_values): node_state at each step, a failed node's
-- instance ends as "node 1 lost: power", a spawn on it is refused while
-- failed, work there goes on after recover_node.
app("web", "mem=64M init=1ms work=1ms")
app("slow", "mem=64M init=1ms work=10s")
cluster { nodes = 2 }
policy { placement = "local" }
process(function()
  local id = spawn("slow", nil, 1); ready(id)
  local other = spawn("slow", nil, 0); ready(other)
  log("state", node_state(1))
  fail_node(1, "power")
  log("state", node_state(1))
  local st, why = wait(id)
  log("waited", tostring(st), why)
  local ok = pcall(spawn, "web", nil, 1)
  log("spawn-on-failed", tostring(ok))
  recover_node(1)
  log("state", node_state(1))
  fail_link(0, "cable")
  log("state", node_state(0))
  recover_link(0)
  log("state", node_state(0))
  -- a second failure without a reason: "failed"
  local third = spawn("slow", nil, 1); ready(third)
  fail_node(1)
  local st3, why3 = wait(third)
  log("waited", tostring(st3), why3)
  recover_node(1)
  log("after", tostring(wait(spawn("web", nil, 1))))
end)
