-- SPDX-License-Identifier: MIT
-- cluster-ops.lua - the measurement workload of `ukfork calibrate --cluster`: remote forks across dirty-page counts and template fetches across template sizes, on the node agents of a cluster file (two nodes or more).
--
-- For each template size (param sizes, MiB, space-separated) and each of
-- n apps of that size, one instance is requested from node 0 and waited
-- for, one at a time. It boots cold on the least-loaded node and its
-- memory becomes the app's template there. It then runs `units` units,
-- each dirtying `dirty` more pages and forking one child (which runs one
-- unit and exits) and waiting for it: with the parent alone on its node,
-- least-loaded placement puts each child on another node, so the forks
-- are remote with deltas of dirty, 2 x dirty, ... pages (plus the pages
-- the guest itself wrote since its template). The first child on the
-- other node needs the parent's template there: that node fetches it from
-- the parent's (a template fetch of that size), then restores; the later
-- children only restore. A fresh app per sample gives each template size n
-- fetches. Then, with the template on both nodes, `clones` template
-- clones of the app that exit at once, one at a time and `gap` apart:
-- least-loaded placement, with both nodes idle, takes turns, so about
-- half start on node 0, where they are requested, and half on another
-- node, after a message between the engines (calibrate's peer_msg_ns:
-- the difference of the two). calibrate sets nodes (the cluster file's),
-- n (-n) and sizes, units, dirty and gap from its plan, and link
-- (docs/calibration.md, "--cluster"; an operation after an idle spell
-- costs more, so the gap sets the context the clones are measured in).
--
-- With param idle (spells in ns, each longer than gap, e.g. "300000000
-- 1000000000"), at the end, an app named "idle" of the first size (its
-- template made on one node and fetched by the other) and 2 x idle_n
-- (default n) clones of it after each spell: half start on another node,
-- and a message to a node idle that long takes longer (calibrate files
-- the clones of "idle" by spell, the others as the gap's, and fits
-- msg_idle_curve from them; see docs/calibration.md). Then an app
-- "idlef" of the first size whose instances dirty `dirty` pages and fork
-- one child each: its first boots cold (its child, on another node,
-- fetches the template), then 2 x idle_n are requested `gap` apart and
-- 2 x idle_n after each spell; a parent that starts where requested
-- (node 0) sends its child to a node idle since the last request, a
-- remote fork after that node's spell (calibrate files their save
-- paths by spell, dsave_gap and dsave_<ms>, and fits delta_idle_curve).
-- After each spell's, idle_n forks of an app "idlew" alike whose parent
-- is to start on another node than node 0 and send its child back
-- there: clones of an app "idlepre" that exit at once, requested from
-- node 0 before the spell, move node 0's turn among equally loaded
-- nodes (least-loaded breaks ties from the origin's turn), so that node
-- 0 places the parent elsewhere; when the child comes back to node 0,
-- that node has sent the placement but run nothing for the spell
-- (calibrate files those as dsavew_<ms>, by what each one's rows show,
-- the others as the forks above, and chooses delta_idle_since from
-- them: whether a message between nodes ends the spell
-- delta_idle_curve counts).
--
-- Run by hand: ukfork run scripts/calibrate/cluster-ops.lua --cluster FILE \
--   --set nodes=2 --set n=2 --db c.db --trace c.trace

local n = param("n", 3)
local sizes = param("sizes", "8 16 32")
local units = param("units", 6)
local dirty = param("dirty", 128)
local clones = param("clones", 4)
local gap = param("gap", "20ms")
-- each unit's work before its fork (calibrate keeps 1ms): a longer one
-- puts the first fetch that long after the template's making (session
-- 34, two runs of 12-18 fetches a size: 300 ms after it the 16 MiB
-- fetches were 9% and 17% faster, the 32 MiB ones 15% faster and 4%
-- slower)
local work = param("work", "1ms")
-- this run's part of the apps (calibrate sweeps part = 1..parts, parts
-- at most n, a run each): the i-th app of each size runs in part
-- (i - 1) % parts + 1, the idle clones in the last. On this machine's testbed a template
-- fetch took 60-90 ms at 24 MiB in runs of a few apps, and 100-250 ms
-- in one run of 10-50 apps after its first few (session 37)
local part = param("part", 1)
local parts = param("parts", 1)
local idle = param("idle", "")
local idle_n = param("idle_n", n)
local spells, idle_s = {}, 0
for ns in string.gmatch(tostring(idle), "%d+") do
  if tonumber(ns) > 0 then
    spells[#spells + 1] = ns .. "ns"
    idle_s = idle_s + 5 * idle_n * tonumber(ns) / 1e9
  end
end

cluster { nodes = 2, vcpus = 16, memory = "4G" }
policy  { placement = "least-loaded", templates = "on-demand", fetch = "peer" }
-- a deadline: the run ends when the last clone is done
run     { duration = string.format("%.0fs", 1800 + idle_s) }
-- The link the run crosses (calibrate sets it from --delay/--rate or the
-- testbed's testbed.conf): not used here, but recorded in the run's
-- settings, so that `ukfork report` tells apart the runs of one database
-- made over different links (scripts/calibrate/cluster.sh), which it
-- otherwise counts once as copies of one run.
param("link", "not given")

local apps = {}
for mib in string.gmatch(tostring(sizes), "%d+") do
  for i = 1, n do
    local name = "r" .. mib .. "_" .. i
    app(name, string.format(
      "mem=%sM init=1ms work=%s dirty=%d fork=1 units=%d", mib, work, dirty,
      units))
    if (i - 1) % parts + 1 == part then apps[#apps + 1] = name end
  end
end
if part ~= parts then spells = {} end
if #spells > 0 then
  local first = string.match(tostring(sizes), "%d+")
  app("idle", string.format("mem=%sM init=1ms work=%s dirty=0 units=1",
    first, work))
  app("idlef", string.format(
    "mem=%sM init=1ms work=%s dirty=%d fork=1 units=1", first, work, dirty))
  app("idlew", string.format(
    "mem=%sM init=1ms work=%s dirty=%d fork=1 units=1", first, work, dirty))
  app("idlepre", string.format("mem=%sM init=1ms work=%s dirty=0 units=1",
    first, work))
end

process(function()
  for _, name in ipairs(apps) do
    local id = spawn(name, nil, 0)
    wait(id)
    for _ = 1, clones do
      sleep(gap)
      wait(spawn(name, "fork=0 units=1 dirty=0", 0))
    end
  end
  if #spells > 0 then
    wait(spawn("idle", nil, 0))   -- cold: its template on one node
    sleep(gap)
    wait(spawn("idle", nil, 0))   -- the other node fetches it (turns)
    for _, spell in ipairs(spells) do
      for _ = 1, 2 * idle_n do
        sleep(spell)
        wait(spawn("idle", nil, 0))
      end
    end
    -- remote forks after the gap, then after each spell
    wait(spawn("idlef", nil, 0))  -- cold; its child fetches the template
    wait(spawn("idlew", nil, 0))  -- the same
    wait(spawn("idlepre", nil, 0))  -- cold
    wait(spawn("idlepre", nil, 0))  -- the other node fetches it (turns)
    for _ = 1, 2 * idle_n do
      sleep(gap)
      wait(spawn("idlef", nil, 0))
    end
    -- idlepre clones before each fork back: 1, 3, 2, 1, ... (simulated,
    -- 16 forks after 2 spells: 12 came back on 2 nodes, 8 on 3, 7 on 4;
    -- one each time: 16 on 2 nodes, none on 3)
    local turns = { 1, 3, 2 }
    for _, spell in ipairs(spells) do
      for _ = 1, 2 * idle_n do
        sleep(spell)
        wait(spawn("idlef", nil, 0))
      end
      -- the same with the parent on node 1, the child back to node 0
      for i = 1, idle_n do
        for _ = 1, turns[(i - 1) % #turns + 1] do
          sleep(gap)  -- the last instance's end known to node 0
          wait(spawn("idlepre", nil, 0))
        end
        sleep(spell)
        wait(spawn("idlew", nil, 0))
      end
    end
  end
end)
