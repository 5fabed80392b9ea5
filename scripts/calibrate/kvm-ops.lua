-- SPDX-License-Identifier: MIT
-- kvm-ops.lua - calibration workload for scripts/calibrate/kvm.sh: templates of three memory sizes and live forks of three dirty-page counts, on the local KVM node.
--
-- Run by kvm.sh with `--backend kvm --trace`: the trace's template-make ->
-- template-ready gives the template cost per memory size, and each fork
-- row (joined to its parent's dirty_pages) the live-fork cost per dirty
-- page. The three apps differ in memory (template fit) and in pages
-- dirtied before forking (fork fit). Requests are spaced so that the
-- machine is not the bottleneck: one app at a time, one parent at a time.

cluster { nodes = 1, vcpus = 16, memory = "2G" }
policy  { placement = "local", templates = "on-demand" }
run     { duration = "20s" }

-- dirty pages stay below the pages of mem (synth rotates over its heap)
app("m8",  "mem=8M init=1ms work=1ms dirty=64 fork=4 units=1")
app("m32", "mem=32M init=1ms work=1ms dirty=1024 fork=4 units=1")
app("m64", "mem=64M init=1ms work=1ms dirty=4096 fork=4 units=1")

-- 4 requests per app, 250 ms apart, the apps 1 s apart: the first request
-- of each app boots cold and makes its template, the others clone it
constant { app = "m8",  interval = "250ms", start = "0s", stop = "0.9s" }
constant { app = "m32", interval = "250ms", start = "1s", stop = "1.9s" }
constant { app = "m64", interval = "250ms", start = "2s", stop = "2.9s" }
