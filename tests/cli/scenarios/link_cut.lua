-- SPDX-License-Identifier: MIT
-- A link cut while requests are in flight to the node behind it
-- (tests/cli/faults_test.sh link_cut_maker): the origin places them again,
-- the node behind the cut runs its copy on (a template maker among them).
cluster { nodes = 4, vcpus = 8, memory = "8G", bandwidth = "100M", latency = "100us" }
policy { placement = param("pl", "random"), templates = param("tp", "on-demand") }
run { duration = "20s" }
app("fan", "mem=128M init=50ms work=200ms dirty=2048 fork=4 units=2")
app("web", "mem=64M init=30ms work=100ms")
poisson { app = "web", rate = 10, node = 0, stop = "3s" }
local TF, LN, DUR = param("tf", 0.7), param("ln", 1), param("dur", 1.0)
process(function()
  for i = 1, 10 do
    local id = spawn("fan", 0)
    process(function() local st, why = wait(id) end)
    sleep("150ms")
  end
end)
process(function()
  sleep(TF)
  fail_link(LN, "cut")
  sleep(DUR)
  recover_link(LN)
end)
