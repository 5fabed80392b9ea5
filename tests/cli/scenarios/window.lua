-- SPDX-License-Identifier: MIT
-- Arrival windows end before their end (tests/cli sweep_test.sh window):
-- no arrival at or after `stop`, nor at or after the end of the run.
cluster { nodes = 1 }
policy { templates = "none" }
run { duration = "1s" }
app("a", "mem=16M init=1ms work=1ms")
app("b", "mem=16M init=1ms work=1ms")
app("c", "mem=16M init=1ms work=1ms")
-- 0, 0.25, 0.5, 0.75: the one due at 1 s is the end of the run
constant { app = "a", interval = "250ms" }
-- 0.5, 0.6, 0.7: the one due at 0.8 s is the end of the window
constant { app = "b", interval = "100ms", start = "0.5s", stop = "0.8s" }
-- bursts at 0, 0.3, 0.6 spread over 200 ms: the last one's requests drawn
-- at or after 0.7 s are past the window
bursts { app = "c", every = "300ms", size = 50, spread = "200ms", stop = "0.7s" }
