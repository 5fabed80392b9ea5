-- Unknown cluster setting on line 2.
cluster { nodez = 2 }
