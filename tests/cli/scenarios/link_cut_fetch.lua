-- SPDX-License-Identifier: MIT
-- A fork child's template must come from a node that is cut off
-- (tests/cli/faults_test.sh link_cut_fetch): eight nodes with injected
-- faults, prewarmed templates, forking fans; node 0's link is cut at
-- 2.9 s. Node 6, holding a fork child of a parent on node 0, gets
-- another version of the fan template after the cut: the version the
-- child's delta needs is on no node it sees, and the parent's node is
-- lost. The child cannot start there; the node must not send a fetch
-- into the cut and let every later fan request wait behind it.
cluster { nodes = 8, vcpus = 4, memory = "1G", cache = "256M", bandwidth = "200M", latency = "100us",
          faults = "boot=0.03 clone=0.03 template=0.05 save_delta=0.05 crash=0.02" }
policy { placement = "least-loaded", templates = "prewarm", fetch = "peer", max_retries = 20 }
run { duration = "60s", sample_every = "50ms", seed = 1 }
app("fan", "mem=128M init=50ms work=150ms dirty=2048 fork=3 units=2")
app("web", "mem=64M init=30ms work=100ms dirty=64")
app("big", "mem=256M init=80ms work=300ms dirty=512 fork=1 vcpus=2")
poisson { app = "web", rate = 20, stop = "5s" }
poisson { app = "big", rate = 2, stop = "5s" }
process(function()
  for i = 1, 20 do
    local id = spawn("fan")
    if id then process(function() wait(id) end) end
    sleep("200ms")
  end
end)
local TF = param("tf", 2.9)
process(function()
  sleep(TF)
  fail_link(0, "cut")
  sleep(1.0)
  recover_link(0)
end)
