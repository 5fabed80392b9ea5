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

cluster { nodes = 1, vcpus = 16, memory = "2G", latency = "100us",
          bandwidth = "1G" }
policy  { placement = "least-loaded", templates = "on-demand",
          fetch = "peer" }
run     { duration = "60s" }

app("w", "mem=12M init=1ms work=1ms dirty=32")
app("f", "mem=24M init=1ms work=1ms dirty=256 fork=2 units=1")

-- 8 requests of w, 2.5 s apart; 7 of f, 4 s apart, from 20 s
constant { app = "w", interval = "2500ms", start = "0s",  stop = "19s" }
constant { app = "f", interval = "4s",     start = "20s", stop = "47s" }
