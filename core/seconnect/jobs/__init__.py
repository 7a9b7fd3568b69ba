"""The jobs `seconnect run ...` runs: one module per job, each a plain function the CLI calls."""
