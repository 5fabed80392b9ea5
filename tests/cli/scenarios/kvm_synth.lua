-- SPDX-License-Identifier: MIT
-- An app without {image=} runs the synth guest on kvm, whatever its name:
-- "fanout" here must not boot guest/apps/fanout (it would abort on synth's
-- key=value arguments).
cluster { nodes = 1, vcpus = 4, memory = "2G" }
policy { templates = "none" }
run { duration = "300s" } -- a cap only: a kvm run ends when idle (slow under emulation)
app("fanout", "mem=16M init=5ms work=5ms dirty=16")
process(function()
  local id = spawn("fanout")
  log("fanout", id, "status", wait(id))
end)
