-- SPDX-License-Identifier: MIT
-- idle-fork.lua - remote forks after an idle spell against ones 20 ms apart, on the node agents of a 2-node cluster (session 37: the save path, placement -> the restore's start, 3.0-3.2 ms 20 ms apart and 3.4-3.7 ms after 1 s idle, with TCP slow start after idle on or off).
--
-- Each instance of f (24 MiB, 256 pages dirtied in its one unit) forks one
-- child; alone on its node, least-loaded placement puts the child on the
-- other node: a remote fork of about 260 pages. The first three requests
-- come 20 ms after the last ended, the next twelve `spell` after it.
--
-- Run: ukfork testbed up --nodes 2 --state /tmp/tb
--      ukfork run scripts/bench/idle-fork.lua --cluster /tmp/tb/cluster.conf \
--        --db if.db --set spell=1s
--      sqlite3 if.db "SELECT c.id, c.t_start - c.t_placed, c.t_ready - c.t_start
--        FROM instances c WHERE c.start = 'fork' AND c.remote
--        AND NOT coalesce(c.template_fetched, 0) ORDER BY c.id"
-- (the first three rows after the gap, the rest after the spell; the
-- first child fetches the template and has no row there).
cluster { nodes = 2, vcpus = 16, memory = "4G" }
policy  { placement = "least-loaded", templates = "on-demand", fetch = "peer" }
run     { duration = "600s" }
local spell = param("spell", "1s")
app("f", "mem=24M init=1ms work=1ms dirty=256 fork=1 units=1")
process(function()
  wait(spawn("f", nil, 0))
  for _ = 1, 3 do sleep("20ms"); wait(spawn("f", nil, 0)) end
  for _ = 1, 12 do sleep(spell); wait(spawn("f", nil, 0)) end
end)
