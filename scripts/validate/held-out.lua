-- SPDX-License-Identifier: MIT
-- held-out.lua - the held-out validation workload of `ukfork validate`: cold boots, template clones and live forks of apps and sizes the calibration never ran (not kvm-ops.lua / kvm-vm-ops.lua).
--
--   ukfork validate scripts/validate/held-out.lua --backend kvm \
--       --model data/kvm-vm-calibrated.conf --db v.db
--   ukfork validate scripts/validate/held-out.lua --cluster FILE --model M.conf
--
-- Calibration measured 8/32/64 MiB apps forking 4 children after 64, 512
-- and 2048 dirty pages, one app at a time. Here: a 12 MiB app without
-- forks whose requests overlap its own template making (the second
-- request may still boot cold), then a 24 MiB app dirtying 256 pages and
-- forking 2 children, requested while the first app's instances are
-- still alive. With --backend kvm the world is one node; with --cluster
-- every node of the cluster file, and least-loaded placement spreads the
-- forks, so remote forks and template fetches from peers happen too.
-- Spaced for the emulated KVM of scripts/kvm-vm (a 24 MiB cold boot takes
-- seconds there); on hardware KVM the same file runs in the same 60 s.
-- `--set pace=0.25` scales every time of the workload (arrivals, window,
-- duration) by 0.25: the same 29 instances in 15 s, for more replications
-- where KVM is not emulated (a cold boot here takes ~0.1 s; the requests
-- stay 0.6 s apart or more). The default, 1, is the workload of before.

local pace = param("pace", 1)
if type(pace) ~= "number" or pace <= 0 or pace > 10 then
  error("pace must be a number in (0, 10], got " .. tostring(pace))
end
local function t(ms) return string.format("%.3fms", ms * pace) end

cluster { nodes = 1, vcpus = 16, memory = "2G", latency = "100us",
          bandwidth = "1G" }
policy  { placement = "least-loaded", templates = "on-demand",
          fetch = "peer" }
run     { duration = t(60000) }

app("w", "mem=12M init=1ms work=1ms dirty=32")
app("f", "mem=24M init=1ms work=1ms dirty=256 fork=2 units=1")

-- 8 requests of w, 2.5 s apart; 7 of f, 4 s apart, from 20 s
constant { app = "w", interval = t(2500), start = t(0),     stop = t(19000) }
constant { app = "f", interval = t(4000), start = t(20000), stop = t(47000) }
