-- More apps than the engine takes (param n; the 4097th on line 5).
cluster { nodes = 1 }
local n = param("n", 4097)
for i = 1, n do
  app("a" .. i, "mem=1M")
end
