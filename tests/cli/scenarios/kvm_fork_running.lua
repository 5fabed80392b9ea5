-- SPDX-License-Identifier: MIT
-- fork(id) of an instance that is running (not paused in its own fork):
-- whatever the backend does with it, wait() on the child returns (a
-- status, or nil and the reason the fork failed); it never hangs.
cluster { nodes = 1, vcpus = 4, memory = "2G" }
policy { templates = "none", max_retries = 0 }
run { duration = "5s" }
app("synth", "mem=16M init=5ms work=300ms dirty=16")
process(function()
  local id = spawn("synth")
  log("ready", ready(id))
  local c = fork(id)
  log("forked", c, wait(c))
  log("parent", wait(id))
end)
