-- SPDX-License-Identifier: MIT
-- Requests whose messages are on the wire when the run ends (a 200 ms
-- latency, arrivals to the last instant): tests/cli/faults_test.sh
-- in_flight_end. Capacity is ample: nothing fails.
cluster { nodes = 4, vcpus = 64, memory = "64G", latency = "200ms" }
policy { placement = "random" }
run { duration = "2s" }
app("web", "mem=64M init=50ms work=10ms")
poisson { app = "web", rate = 100 }
