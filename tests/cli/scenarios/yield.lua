-- A process calls coroutine.yield (line 7): refused, nothing stored.
cluster { nodes = 2 }
run { duration = "2s" }
app("web", "mem=64M")
process(function()
  sleep(0.5)
  coroutine.yield()
  spawn("web")
end)
