-- Arrival processes make exactly the requests they describe.
cluster { nodes = 4, vcpus = 8, memory = "8G" }
run { duration = "2s" }
app("a", "mem=32M init=10ms work=1ms")
app("b", "mem=32M init=10ms work=1ms")
app("c", "mem=32M init=10ms work=1ms")
app("d", "mem=32M init=10ms work=1ms")
constant { app = "a", interval = "100ms", start = "0.05s", stop = "1s" }  -- 10
bursts { app = "b", every = "500ms", size = 4, spread = "100ms" }         -- 4 x 4 = 16
trace { file = "good.trace", node = 1 }                                   -- 3
poisson { app = "d", rate = 50, stop = "1s" }                             -- about 50
