-- SPDX-License-Identifier: MIT
-- basic.lua - golden scenario: arrivals and a Lua process on 3 nodes.
-- Exercises spawn, ready, fork, wait, sleep, now, log and keyed streams.
cluster { nodes = 3, vcpus = 4, memory = "2G", cache = "512M" }
policy { placement = "round-robin", templates = "on-demand", fetch = "peer" }
run { duration = "3s", sample_every = "500ms" }

app("web", "mem=64M init=40ms work=10ms dirty=32")
app("job", "mem=128M init=100ms work=50ms dirty=64 fork=2")

constant { app = "web", interval = "250ms", node = 0 }
poisson { app = "job", rate = 2, start = "1s", stop = "2s" }

process(function()
  local id = spawn("web", 1)
  log("spawned", id, "at", now())
  local ok = ready(id)
  log("ready", id, ok, string.format("%.6f", now()))
  local child = fork(id)
  log("forked", id, "->", child)
  log("child status", wait(child), "parent status", wait(id))
  local s = stream("think")
  for i = 1, 3 do
    sleep(s:uniform(0.1, 0.2))
    local j = spawn("job")
    log("job", j, "status", wait(j), string.format("t=%.6f", now()))
  end
end)
