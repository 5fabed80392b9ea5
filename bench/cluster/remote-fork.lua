-- SPDX-License-Identifier: MIT
-- remote-fork.lua - forks of a synth guest that land on the parent's node
-- and on another node, in one run (bench/cluster/run.sh drives it on the
-- node agents of a testbed: ukfork run ... --cluster FILE).
--
-- Each parent is a 64 MiB synth that dirties 1 MiB (256 pages) after its
-- ready() and then forks `forks` children one after the other; with
-- round-robin placement consecutive children alternate between the nodes,
-- so local and remote forks of the same parent state are measured side by
-- side. Rows: start = 'fork', remote = 0 or 1, request-to-ready =
-- t_ready - t_request. The first remote fork to a node may fetch the
-- template (template_fetched = 1); the bench reports those apart.

policy { placement = "round-robin", templates = "on-demand", fetch = "peer" }
run { duration = "600s" }

local forks = param("forks", 8)
local parents = param("parents", 6)

app("synth", string.format(
  "mem=64M init=20ms work=1ms dirty=256 fork=%d units=1", forks))

process(function()
  for p = 1, parents do
    local id = spawn("synth")
    wait(id)
  end
end)
