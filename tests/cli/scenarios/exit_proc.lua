-- os.exit in a process (line 6): refused, in the sandbox and trusted.
cluster { nodes = 1 }
run { duration = "1s" }
process(function()
  sleep(0.1)
  os.exit(0)
end)
