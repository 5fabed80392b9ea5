-- sleep() at the top level (line 3) is an error.
cluster { nodes = 2 }
sleep(1)
