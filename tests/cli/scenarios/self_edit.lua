-- Rewrites its own file (--trusted, --set self=PATH) when executed: every
-- pass and run must still execute this text, with app 'a' (the new text
-- declares app 'b').
local self = param("self", "")
local rate = param("rate", { 10, 20 })
cluster { nodes = 1 }
run { duration = "1s" }
app("a", "mem=64M init=1ms work=1ms")
poisson { app = "a", rate = rate }
local f = assert(io.open(self, "w"))
f:write('local self = param("self", "")\n',
        'local rate = param("rate", { 10, 20 })\n',
        'cluster { nodes = 1 }\nrun { duration = "1s" }\n',
        'app("b", "mem=64M init=1ms work=1ms")\n',
        'poisson { app = "b", rate = rate }\n')
f:close()
