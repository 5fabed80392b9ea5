-- SPDX-License-Identifier: MIT
-- Node 1 fails while instances node 0 sent it start, and the run ends
-- before node 0 notices (tests/cli/faults_test.sh lost_unnoticed_end).
cluster { nodes = 2 }
policy { placement = "round-robin" }
churn { detect = "5s" }
run { duration = "1s" }
app("web", "mem=64M init=100ms work=1s")
process(function()
  sleep(0.5)
  for i = 1, 4 do spawn("web", nil, 0) end
  sleep(0.05)
  fail_node(1, "gone")
end)
