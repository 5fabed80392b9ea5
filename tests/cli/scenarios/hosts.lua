-- Heterogeneous hosts: only the last group can hold "big".
cluster { vcpus = 4, memory = "4G" }
hosts { count = 2 }
hosts { count = 1, vcpus = 16, memory = "64G", cache = "8G" }
policy { placement = "random" }
run { duration = "2s" }
app("big", "mem=32G init=10ms work=10ms")
app("small", "mem=64M init=10ms work=10ms")
poisson { app = "big", rate = 5 }
poisson { app = "small", rate = 20 }
