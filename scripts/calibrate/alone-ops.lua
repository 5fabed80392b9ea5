-- SPDX-License-Identifier: MIT
-- alone-ops.lua - the workload of `ukfork calibrate`'s alone step (plan key `alone`): template clones and live forks through the engine one at a time, across memory sizes and dirty-page counts, nothing else running beside them.
--
-- What the simulator is to be given is each operation's own cost: it
-- queues operations on a host itself (monitor_slots, agent_msg_ns) and
-- shares its cores (cores), so a sample taken while others ran beside it
-- (kvm-ops.lua: four forks at once, instances of three apps alive on two
-- cores) counts that wait twice. Here every instance is requested from
-- node 0 and waited for until it exits, `gap` apart:
--
-- * for each memory size (param sizes, MiB): an app cN whose first
--   instance boots cold and becomes its template; then n instances, each
--   a template clone. The first clone at a size is the node's first at
--   that memory size (the KVM monitor makes a VM shell of that size for
--   it; later clones find one its pool built in the background):
--   calibrate stores it apart (clone_first). The clones dirty 0 pages and
--   each count of `dirty` in turn (their args): READY to exit is their
--   unit, 1 ms of work and the first touches of those pages (touch);
-- * for each size and each dirty-page count (param dirty): an app
--   fN_D whose instances dirty D pages and fork one child, `forks` of
--   them after its template (the parents are template clones too).
-- * with param idle (spells in ns, each longer than gap, e.g.
--   "300000000 1000000000"), after each size's n clones: for each spell,
--   idle_n (default n) more clones of cN (dirty=0), each after an idle
--   spell that long. calibrate tells them apart by the spell before their
--   request (clone_idle_<ms>) and fits from them what a clone costs more
--   after a while with nothing to do (idle_curve).
--
-- calibrate sets n (-n), sizes, dirty, forks, gap, idle and idle_n from
-- its plan (alone_mem, alone_dirty, alone_forks, gap, idle, idle_n: an
-- operation after an idle spell costs more, so the gap sets the context
-- the other samples are measured in). Run by hand:
--   ukfork run scripts/calibrate/alone-ops.lua --backend kvm \
--     --set n=5 --db c.db --trace c.trace

cluster { nodes = 1, vcpus = 16, memory = "2G" }
policy  { placement = "local", templates = "on-demand" }
run     { duration = "1800s" }   -- a deadline: the run ends with the last fork

local n = param("n", 20)
local sizes = param("sizes", "8 16 32")
local dirty = param("dirty", "64 512 2048")
local forks = param("forks", 15)
local gap = param("gap", "20ms")
local idle = param("idle", "")
local idle_n = param("idle_n", n)
local spells = {}
for ns in string.gmatch(tostring(idle), "%d+") do
  if tonumber(ns) > 0 then spells[#spells + 1] = ns .. "ns" end
end

-- {app, count, args}: count instances after a cold first one, their args
-- taken in turn
local steps = {}
for mib in string.gmatch(tostring(sizes), "%d+") do
  local c = "c" .. mib
  local touch = { "dirty=0" }
  app(c, string.format("mem=%sM init=1ms work=1ms dirty=16", mib))
  steps[#steps + 1] = { c, n, touch }
  for d in string.gmatch(tostring(dirty), "%d+") do
    if tonumber(d) * 4096 < tonumber(mib) * 1048576 then
      local f = "f" .. mib .. "_" .. d
      app(f, string.format("mem=%sM init=1ms work=1ms dirty=%s fork=1 units=1",
                           mib, d))
      steps[#steps + 1] = { f, forks }
      touch[#touch + 1] = "dirty=" .. d
    end
  end
end

process(function()
  for _, s in ipairs(steps) do
    wait(spawn(s[1], nil, 0))   -- cold: makes the template
    sleep(gap)
    for i = 1, s[2] do
      local id = spawn(s[1], s[3] and s[3][(i - 1) % #s[3] + 1] or nil, 0)
      wait(id)
      sleep(gap)
    end
    if s[3] then   -- a clone app: its clones after each idle spell
      for _, spell in ipairs(spells) do
        for _ = 1, idle_n do
          sleep(spell)
          wait(spawn(s[1], "dirty=0", 0))
        end
      end
      if #spells > 0 then sleep(gap) end
    end
  end
end)
