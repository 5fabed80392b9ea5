-- Two placement policies; the test adds --set nodes=2,3 --reps 3.
cluster { nodes = 2, vcpus = 4 }
policy { placement = { "random", "least-loaded" } }
run { duration = "1s" }
app("web", "mem=64M init=20ms work=5ms")
local rate = param("rate", 10)
poisson { app = "web", rate = rate }
process(function()
  local id = spawn("web")
  local st = wait(id)
  assert(st == 0, "status " .. tostring(st))
end)
