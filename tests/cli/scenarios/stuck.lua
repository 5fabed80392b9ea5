-- SPDX-License-Identifier: MIT
-- A process still in wait() when the run ends is named in a warning; one
-- still in sleep() was only cut short by the duration and is not.
cluster { nodes = 1, vcpus = 4, memory = "2G" }
run { duration = "1s" }
app("slow", "mem=64M init=10ms work=10s")
process(function()
  local id = spawn("slow")
  wait(id)
end)
process(function() sleep(100) end)
