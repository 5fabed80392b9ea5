-- SPDX-License-Identifier: MIT
-- fork(id) of a running synth on the KVM backend: the monitor stops the
-- parent's vCPU, clones it and lets both go on; wait() returns status 0
-- for both. A second fork hits the parent while it waits for its timer
-- inside the guest (running guest code too).
cluster { nodes = 1, vcpus = 4, memory = "2G" }
policy { templates = "none", max_retries = 0 }
run { duration = "10s" }
app("synth", "mem=16M init=5ms work=20ms dirty=16 units=15")
process(function()
  local id = spawn("synth")
  log("ready", ready(id))
  local c = fork(id)
  local d = fork(id)
  log("child", c, wait(c))
  log("child2", d, wait(d))
  log("parent", wait(id))
end)
