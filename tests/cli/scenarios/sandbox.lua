-- The sandbox: os.execute (line 4) is refused, naming --trusted.
cluster { nodes = 1 }
app("a", "mem=64M")
os.execute("echo escaped > sandbox-escaped.txt")
