"""How a model runs: precision (fp32, bf16, int8), runtime (torch or onnxruntime), threads,
and batches by token budget. The inference pipeline (anyner.pipeline) is one for all of them;
a runner only maps a collated batch to span × type probabilities."""
