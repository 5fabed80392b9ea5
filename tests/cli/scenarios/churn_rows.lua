-- SPDX-License-Identifier: MIT
-- Churn over 6 small nodes with spawns, big apps and a forking app, from
-- every node (tests/cli/faults_test.sh churn_rows): each request keeps
-- exactly one row whatever fails after it was made: its host, its origin,
-- both, before or after the other noticed (--set det=).
cluster { nodes = 6, vcpus = 4, memory = "1G", cache = "300M", bandwidth = "200M", latency = "100us" }
policy { placement = param("pl", "least-loaded"), templates = param("tp", "on-demand"), retry = "5ms", max_retries = 20 }
churn { mtbf = param("mtbf", "3s"), mttr = "1s", detect = param("det", "0s") }
run { duration = "12s", sample_every = "10ms" }
app("fan", "mem=96M init=50ms work=150ms dirty=1024 fork=3 units=2")
app("web", "mem=64M init=30ms work=100ms dirty=64")
app("big", "mem=256M vcpus=2 init=80ms work=300ms dirty=256")
poisson { app = "web", rate = 15, stop = "10s" }
poisson { app = "big", rate = 3, stop = "10s" }
process(function()
  local g = stream("fanproc")
  for i = 1, 40 do
    local n = math.floor(g:random() * 6)
    if node_state(n) == "up" then
      local id = spawn("fan", n)
      process(function() wait(id) end)
    end
    sleep(0.25)
  end
end)
