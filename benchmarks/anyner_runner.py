"""Runs one anyner path of the side-by-side benchmark in its own process (peak RSS is its own):
``python benchmarks/anyner_runner.py JOB.json RESULT.json``. Started by compare.py."""

from __future__ import annotations

import sys

import bench_worker


def load(job: dict):
    import anyner

    path = job["path"]
    # an ONNX export loads without torch: the process holds only what that path needs
    model = anyner.load(
        job["checkpoint"], precision=path["precision"], runtime=path["runtime"], threads=job["threads"]
    )

    def predict(texts, labels, threshold, batch_size):
        return model.batch_predict_entities(list(texts), labels, threshold=threshold, batch_size=batch_size)

    loaded = {name: sys.modules[name] for name in ("torch", "onnxruntime") if name in sys.modules}
    versions = {"anyner": anyner.__version__} | {k: m.__version__ for k, m in loaded.items()}
    return predict, versions, {"picked": f"{model.precision} on {model.runtime}"}


if __name__ == "__main__":
    bench_worker.main(load)
