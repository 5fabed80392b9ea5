-- A process spawns an app that does not exist (line 7).
cluster { nodes = 2 }
run { duration = "2s" }
app("web", "mem=64M")
process(function()
  sleep(0.5)
  spawn("ghost")
end)
