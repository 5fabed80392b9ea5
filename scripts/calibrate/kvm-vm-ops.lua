-- SPDX-License-Identifier: MIT
-- kvm-vm-ops.lua - kvm-ops.lua spaced out for an emulated KVM (scripts/kvm-vm: nested SVM under QEMU TCG), where a cold boot of 32 MiB takes seconds: templates of three memory sizes and live forks of three dirty-page counts, one app at a time.
--
-- Used by scripts/calibrate/kvm-vm.plan (`ukfork calibrate --plan`). The
-- first request of each app boots cold and makes its template, the three
-- others clone it; each instance forks 4 children after dirtying `dirty`
-- pages. Gaps are long enough for each app's cold boot under emulation,
-- so every app reaches its forks inside the run.

cluster { nodes = 1, vcpus = 16, memory = "2G" }
policy  { placement = "local", templates = "on-demand" }
run     { duration = "150s" }

app("m8",  "mem=8M init=1ms work=1ms dirty=64 fork=4 units=1")
app("m32", "mem=32M init=1ms work=1ms dirty=512 fork=4 units=1")
app("m64", "mem=64M init=1ms work=1ms dirty=2048 fork=4 units=1")

-- one cold request, then three clones once the template exists
constant { app = "m8",  interval = "4s", start = "0s",   stop = "11s" }
constant { app = "m32", interval = "6s", start = "20s",  stop = "40s" }
constant { app = "m64", interval = "8s", start = "50s",  stop = "76s" }
