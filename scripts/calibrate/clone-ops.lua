-- SPDX-License-Identifier: MIT
-- clone-ops.lua - the template-clone workload of `ukfork calibrate` (plan key `clones`): template clones through the engine one at a time, across memory sizes, nothing else running beside them.
--
-- For each memory size (param sizes, MiB, space-separated) one app: its
-- first instance boots cold and its memory becomes the app's template;
-- then n instances are requested from node 0, each waited for until it
-- exits, with `gap` between them, so that every clone runs alone on the
-- node (kvm-ops.lua's clones run beside its forks, which the live engine
-- serves on the same thread: the simulator queues those itself). The
-- first clone at each size is the node's first at that memory size (the
-- KVM monitor makes a VM shell of that size for it; later clones find one
-- its pool built in the background): calibrate stores it apart
-- (clone_first). An instance that still boots cold (its template not yet
-- ready) is not a clone sample; the apps do no work worth measuring.
-- calibrate sets n (-n) and sizes (the plan's clones_mem).
--
-- Run by hand: ukfork run scripts/calibrate/clone-ops.lua --backend kvm \
--   --set n=5 --db c.db --trace c.trace

cluster { nodes = 1, vcpus = 16, memory = "2G" }
policy  { placement = "local", templates = "on-demand" }
run     { duration = "1800s" }   -- a deadline: the run ends with the last clone

local n = param("n", 20)
local sizes = param("sizes", "8 16 32")
local gap = param("gap", "20ms")

local apps = {}
for mib in string.gmatch(tostring(sizes), "%d+") do
  local name = "c" .. mib
  app(name, string.format("mem=%sM init=1ms work=1ms dirty=16", mib))
  apps[#apps + 1] = name
end

process(function()
  for _, name in ipairs(apps) do
    wait(spawn(name, nil, 0))   -- cold: makes the template
    sleep(gap)
    for _ = 1, n do
      wait(spawn(name, nil, 0))
      sleep(gap)
    end
  end
end)
