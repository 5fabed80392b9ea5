-- Process 1 resumes process 0, suspended in wait() (line 13): refused.
cluster { nodes = 1 }
run { duration = "5s" }
app("slow", "mem=64M init=10ms work=2s")
local waiter
process(function()
  waiter = coroutine.running()
  local st = wait(spawn("slow"))
  log("wait returned", st)
end)
process(function()
  sleep(0.1)
  coroutine.resume(waiter, 42)
end)
