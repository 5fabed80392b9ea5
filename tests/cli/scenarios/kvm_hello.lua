-- SPDX-License-Identifier: MIT
-- The hello guest ({image="hello"}) on the local KVM node through the scenario runner.
cluster { nodes = 1, vcpus = 4, memory = "2G" }
policy { templates = "none" }
run { duration = "300s", sample_every = "10ms" } -- a cap only (ends when idle)
app("hello", "mem=16M", { image = "hello" })
process(function()
  local id = spawn("hello")
  log("hello", id, "status", wait(id))
end)
