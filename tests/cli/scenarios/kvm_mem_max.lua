-- SPDX-License-Identifier: MIT
-- An app over the KVM monitor's 3 GiB guest limit: refused at the check
-- on kvm (the simulator has no such limit).
cluster { nodes = 1, vcpus = 4, memory = "8G" }
run { duration = "1s" }
app("huge", "mem=4G init=5ms work=5ms")
constant { app = "huge", interval = "1s" }
