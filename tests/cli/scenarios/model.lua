-- The model file of data/ read relative to the scenario (line 2).
run { model = "../../../data/model.conf", duration = "1s" }
app("web", "mem=64M")
poisson { app = "web", rate = 10 }
