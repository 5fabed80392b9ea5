-- More hosts than a simulated cluster may have (line 3).
cluster { vcpus = 1 }
hosts { count = 2000000 }
