-- SPDX-License-Identifier: MIT
-- fanout.lua - `fanout K N` (primes below N counted by K forked children)
-- as a scenario, so its turnaround is a row: bench/cluster/run.sh runs it
-- on one node and on all the nodes of a testbed.
policy { placement = param("placement", "least-loaded"),
         templates = "on-demand", fetch = "peer" }
run { duration = "600s" }
app("fanout", "mem=64M", { image = "fanout" })
process(function()
  for j = 1, param("jobs", 2) do
    wait(spawn("fanout", string.format("%d %d", param("k", 64),
                                       param("n", 100000000)), 0))
  end
end)
