-- Instances that live long pile up in the engine's maps: with large
-- callocs failing (tests/cli failalloc.c) a map cannot grow.
cluster { nodes = 1, vcpus = 1000000, memory = "100000G" }
run { duration = "10s" }
app("long", "mem=1M init=1ms work=100s")
constant { app = "long", interval = "10us" }
