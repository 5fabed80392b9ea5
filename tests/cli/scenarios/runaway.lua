-- A runaway loop at the top level (line 4): stopped by the watchdog.
cluster { nodes = 1 }
app("a", "mem=64M")
while true do end
