-- SPDX-License-Identifier: MIT
-- spawn with node 7 on a 2-node cluster (line 7): the error names 7.
cluster { nodes = 2 }
run { duration = "1s" }
app("a", "mem=64M")
process(function()
  spawn("a", nil, 7)
end)
