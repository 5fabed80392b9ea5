-- SPDX-License-Identifier: MIT
-- remote-fork.lua - a fan-out app whose children spread across nodes.
--
--   ukfork run scripts/examples/remote-fork.lua --db remote-fork.db
--
-- Each "fanout" instance forks 16 children per unit of work; a node has
-- only 4 vCPUs, so most children must be forked remotely (state shipped as
-- a delta against the app's template). "local" keeps children on the
-- parent's node, queueing them behind its capacity; the spreading policies
-- use the whole cluster. A Lua process drives the jobs one after the other
-- and logs each job's turnaround into the --trace event log.
--
-- With --backend kvm the world is this one machine (one node, so every
-- fork is local whatever the policy) and the app runs as the synth guest:
-- backend() == "kvm" runs 3 jobs instead of 10 to keep the run short.

local kvm = backend() == "kvm"

cluster { nodes = kvm and 1 or 8, vcpus = 4, memory = "8G", latency = "50us",
          bandwidth = "1G" }
policy { placement = { "local", "least-loaded", "power-of-two" },
         templates = "on-demand", fetch = "peer" }
run { duration = "60s" }

app("fanout", "mem=128M init=100ms work=50ms dirty=2048 fork=16 units=2")

local jobs = param("jobs", kvm and 3 or 10)

process(function()
  for j = 1, jobs do
    local t0 = now()
    local id = spawn("fanout")
    local status = wait(id)
    log(string.format("job %d instance %d status %s took %.3f s",
                      j, id, tostring(status), now() - t0))
    sleep(exponential(0.5))
  end
end)
