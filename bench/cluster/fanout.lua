-- SPDX-License-Identifier: MIT
-- fanout.lua - `fanout K N` (primes below N counted by K forked children)
-- as a scenario, so its turnaround is a row: bench/cluster/run.sh runs it
-- on one node and on all the nodes of a testbed.
-- "local": every child on the parent's node; "round-robin": spread over all
policy { placement = { "local", "round-robin" },
         templates = "on-demand", fetch = "peer" }
run { duration = "600s" }
local k, n, jobs = param("k", 64), param("n", 100000000), param("jobs", 2)
app("fanout", "mem=64M", { image = "fanout" })
process(function()
  for j = 1, jobs do
    wait(spawn("fanout", string.format("%d %d", k, n), 0))
  end
end)
