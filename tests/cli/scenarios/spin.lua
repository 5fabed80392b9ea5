-- SPDX-License-Identifier: MIT
-- A process that spins at one instant with sleep(0) (tests/cli
-- sweep_test.sh spin): with spin = 1 the run must fail naming it, not
-- hang; the point spin = 0 runs first and stays stored.
local spin = param("spin", { 0, 1 })
cluster { nodes = 1 }
run { duration = "5s" }
app("a", "mem=16M init=1ms work=1ms")
constant { app = "a", interval = "1s" }
process(function() -- a well-behaved process beside it
  for _ = 1, 4 do sleep(1) end
  log("patient done")
end)
process(function()
  sleep(0.5)
  while spin == 1 do pcall(sleep, 0) end
  log("spinner done")
end)
