-- A runaway loop in a process that catches every error (line 7).
cluster { nodes = 1 }
run { duration = "1s" }
process(function()
  sleep(0.5)
  while true do
    pcall(function() while true do end end)
  end
end)
