-- SPDX-License-Identifier: MIT
-- spawn(app, args, node) with args nil, a string or left out: the node is
-- honoured in each form (placement=local keeps an instance where asked).
cluster { nodes = 3, vcpus = 4, memory = "2G" }
policy { placement = "local" }
run { duration = "2s" }
app("a", "mem=16M init=5ms work=5ms")
process(function()
  for _, id in ipairs({ spawn("a", nil, 2), spawn("a", "mem=16M init=5ms work=5ms", 1),
                        spawn("a", 2), spawn("a", nil, 1) }) do
    log("status", id, wait(id))
  end
  local ok, err = pcall(spawn, "a", 1, 2)
  assert(not ok and err:find("args"), "spawn(app, number, node)")
end)
