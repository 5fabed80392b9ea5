-- SPDX-License-Identifier: MIT
-- fork(id) of an instance that is running (not paused in its own fork):
-- the KVM backend clones it where it stands, and wait() on the child
-- returns its status, 0 (tests/cli kvm_fork_running checks it).
cluster { nodes = 1, vcpus = 4, memory = "2G" }
policy { templates = "none", max_retries = 0 }
run { duration = "300s" } -- a cap only: a kvm run ends when idle (slow under emulation)
app("synth", "mem=16M init=5ms work=300ms dirty=16")
process(function()
  local id = spawn("synth")
  log("ready", ready(id))
  local c = fork(id)
  log("forked", c, wait(c))
  log("parent", wait(id))
end)
