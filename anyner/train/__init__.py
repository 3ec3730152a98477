"""Training: data preparation, the GLiNER recipe (type sampling, span×type BCE), the loop."""
