-- coroutine.yield inside a coroutine of the process's own stays legal.
cluster { nodes = 2 }
run { duration = "2s" }
app("web", "mem=64M init=1ms work=1ms")
process(function()
  local gen = coroutine.wrap(function() coroutine.yield(1); coroutine.yield(2) end)
  assert(gen() == 1 and gen() == 2)
  sleep(0.1)
  wait(spawn("web"))
end)
