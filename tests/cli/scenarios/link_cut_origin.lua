-- SPDX-License-Identifier: MIT
-- The front door's own link is cut while it takes requests
-- (tests/cli/faults_test.sh link_cut_origin): node 0 originates every
-- request and places them across the cluster; from 0.5 s to 1.5 s it
-- reaches no peer. A request it places while cut must not be sent into
-- the void: it runs on node 0, or waits there for room.
cluster { nodes = 4, vcpus = 4, memory = "1G", bandwidth = "200M", latency = "100us" }
policy { placement = param("pl", "round-robin"), templates = param("tp", "on-demand") }
run { duration = "30s" }
app("web", "mem=64M init=30ms work=100ms")
app("fan", "mem=128M init=50ms work=150ms dirty=256 fork=2")
local TF, DUR = param("tf", 0.5), param("dur", 1.0)
process(function()
  for i = 1, 30 do
    local id = spawn(i % 3 == 0 and "fan" or "web", 0)
    process(function() wait(id) end)
    sleep("100ms")
  end
end)
process(function()
  sleep(TF)
  fail_link(0, "cut")
  sleep(DUR)
  recover_link(0)
end)
