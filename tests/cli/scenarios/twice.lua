-- A setting given twice: lines 2 and 3.
cluster { nodes = 2 }
cluster { nodes = 3 }
