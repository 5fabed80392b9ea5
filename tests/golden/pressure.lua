-- SPDX-License-Identifier: MIT
-- pressure.lua - golden scenario: a cluster too small for its load.
-- power-of-two placement; a burst finds no room (noplace, retry, and a
-- request failing when its retries run out); a cache with room for one
-- template (template-evict, and a template larger than the cache
-- dropped); forks past max_children, from Lua and from a guest (limit,
-- fork() = -EAGAIN, the guest exits 1).
cluster { nodes = 2, vcpus = 2, memory = "1G", cache = "200M" }
policy { placement = "power-of-two", templates = "on-demand", fetch = "peer",
         max_children = 2, retry = "10ms", max_retries = 2 }
run { duration = "3s" }

app("a", "mem=128M init=40ms work=100ms")
app("b", "mem=128M init=40ms work=100ms")
app("huge", "mem=300M init=40ms work=10ms")
app("fan", "mem=64M init=20ms work=20ms fork=3")
app("long", "mem=64M init=20ms work=400ms")

bursts { app = "long", every = "1s", size = 6, spread = "1ms", stop = "1.5s" }

process(function()
  sleep(0.6)
  log("a", wait(spawn("a", 0)))
  log("b", wait(spawn("b", 0)))
  log("a again", wait(spawn("a", 0)))
  log("huge", wait(spawn("huge", 1)))
  local p = spawn("a", 1)
  ready(p)
  for i = 1, 3 do log("fork", i, "->", pcall(fork, p)) end
  log("parent", wait(p))
  log("fan", wait(spawn("fan", 0)))
end)
