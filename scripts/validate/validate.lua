-- SPDX-License-Identifier: MIT
-- validate.lua - the sim-vs-kvm validation workload: one node, small synth apps, on-demand templates, cold boots, template clones and live forks.
--
-- Run by scripts/validate/sim-vs-kvm.sh with --backend sim (costs from
-- data/kvm-local.conf, the `model` setting) and --backend kvm; the same
-- arrivals in both worlds. Sized so that the one real node is never the
-- bottleneck: requests 150 ms apart, at most a few VMs alive at once, so
-- request-to-ready is the cost of the start itself, not queueing.
--
-- The apps keep the default image size: data/kvm-local.conf charges the
-- memory touch per byte of guest memory (boot_ns_per_mem_byte) and sets
-- boot_ns_per_byte = 0. init is short (2 ms), shorter than the touch of 8 MiB,
-- so both worlds are ready after boot + touch (sim: max(init, touch), as
-- synth.c overlaps them).

cluster { nodes = 1, vcpus = 16, memory = "2G" }
policy  { placement = "local", templates = "on-demand" }
run     { duration = "20s", model = "../../data/kvm-local.conf" }

-- six plain apps: each is requested 4 times, the first boots cold and
-- makes the node's template, the three others are template clones
for i = 1, 6 do
  local name = "c" .. i
  app(name, "mem=8M init=2ms work=2ms dirty=64")
  constant { app = name, interval = "150ms", start = (i - 1) * 0.6,
             stop = (i - 1) * 0.6 + 0.5 }
end

-- a forking app: 4 requests, each instance dirties 256 pages and forks 3
-- children (one unit each) and waits for them
app("f", "mem=8M init=2ms work=2ms dirty=256 fork=3 units=1")
constant { app = "f", interval = "150ms", start = 3.6, stop = 4.1 }
