-- SPDX-License-Identifier: MIT
-- sleepers.lua - the Lua process benchmark: 10,000 processes, each doing
-- 100 sleeps of a duration uniform in [1 ms, 1 s); fixed seed.
--
--   ukfork run scripts/bench/sleepers.lua
--
-- ukfork prints the number of events, the wall time and events/s of the
-- run; each sleep is one event (plus one start event per process).

cluster { nodes = 1 }
run { duration = "1000s", seed = 42 }

local procs = param("procs", 10000)
local sleeps = param("sleeps", 100)

-- Locals instead of globals: the usual Lua idiom for a hot loop.
local sleep, uniform = sleep, uniform
for p = 1, procs do
  process(function()
    for i = 1, sleeps do
      sleep(uniform(0.001, 1))
    end
  end)
end
