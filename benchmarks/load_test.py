"""Bounded load test of ``anyner serve``, against 127.0.0.1 only.

    python benchmarks/load_test.py                    # default model, 16 clients, 20 s, each mode
    python benchmarks/load_test.py --duration 3 --clients 4 --output /tmp/load.json   # a smoke run
    python benchmarks/load_test.py --soak --duration 600 --sample-every 60            # a soak run

Starts the server twice, with micro-batching (the defaults) and without it (``--max-batch 1``);
each time, ``--clients`` clients each send one request after another (one sentence, shared
labels) for ``--duration`` seconds after a short warm-up. Prints a markdown table (throughput
in requests/s and texts/s, p50 and p99 latency) and writes the figures as JSON. Any error (a
failed request, a status other than 200, a wrong number of results) fails the run: exit 1.
``--soak`` runs the micro-batching server only and, every ``--sample-every`` seconds, records
the server's resident memory and the p99 latency of that interval: growth shows there.
The server and the clients share the machine's cores, as they would on one host.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from bench_corpus import LABELS_64 as LABELS
from server import anyner_serve
from speed import DATA, sentences

MODES = {"micro-batching": [], "no batching": ["--max-batch", "1"]}


@dataclass
class Run:
    mode: str
    seconds: float = 0.0
    requests: int = 0
    texts: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    samples: list[dict] = field(default_factory=list)  # soak: memory and p99 over time

    def fail(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)

    def summary(self) -> dict:
        lat = np.array(self.latencies_ms)

        def percentile(q: float) -> float | None:  # None: no request succeeded
            return round(float(np.percentile(lat, q)), 1) if lat.size else None

        return {
            "mode": self.mode,
            "seconds": round(self.seconds, 2),
            "requests": self.requests,
            "texts": self.texts,
            "errors": self.errors,
            "requests_per_s": round(self.requests / self.seconds, 1),
            "texts_per_s": round(self.texts / self.seconds, 1),
            "p50_ms": percentile(50),
            "p99_ms": percentile(99),
            "error_samples": self.error_samples,
            "over_time": self.samples,
        }


async def client(
    http: httpx.AsyncClient, bodies: list[dict], offset: int, until: float, run: Run | None
) -> None:
    """Send requests back to back until ``until``; count them into ``run`` (None: warm-up)."""
    i = offset
    while time.perf_counter() < until:
        body = bodies[i % len(bodies)]
        i += 1
        start = time.perf_counter()
        try:
            r = await http.post("/v1/extract", json=body)
            ok = r.status_code == 200 and len(r.json()["results"]) == len(body["texts"])
            problem = "" if ok else f"{r.status_code}: {r.text[:200]}"
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if run is None:
            continue
        run.requests += 1
        if problem:
            run.fail(problem)
        else:
            run.texts += len(body["texts"])
            run.latencies_ms.append((time.perf_counter() - start) * 1000)


async def load(
    url: str,
    bodies: list[dict],
    clients: int,
    warmup: float,
    duration: float,
    run: Run,
    watch: tuple[int, float],
) -> None:
    """``watch``: (server pid, seconds between samples; 0: none)."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        until = time.perf_counter() + warmup
        await asyncio.gather(*(client(http, bodies, c * 7, until, None) for c in range(clients)))
        start = time.perf_counter()
        tasks = [client(http, bodies, c * 7, start + duration, run) for c in range(clients)]
        if watch[1] > 0:
            tasks.append(sample(watch[0], watch[1], start, start + duration, run))
        await asyncio.gather(*tasks)
        run.seconds = time.perf_counter() - start


async def sample(pid: int, every: float, start: float, until: float, run: Run) -> None:
    seen = 0
    while time.perf_counter() + every <= until + 1e-3:
        await asyncio.sleep(every)
        recent = np.array(run.latencies_ms[seen:])
        seen = len(run.latencies_ms)
        run.samples.append(
            {
                "t_s": round(time.perf_counter() - start),
                "rss_mib": round(rss_kib(pid) / 1024, 1),
                "requests": int(recent.size),
                "p99_ms": round(float(np.percentile(recent, 99)), 1) if recent.size else None,
            }
        )


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def table(rows: list[dict], clients: int) -> str:
    lines = [
        "| mode | clients | seconds | requests | errors | requests/s | texts/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {clients} | {r['seconds']} | {r['requests']} | {r['errors']} | "
            f"{r['requests_per_s']} | {r['texts_per_s']} | {r['p50_ms']} | {r['p99_ms']} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model folder (default: the shipped model)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--duration", type=float, default=20.0, help="measured seconds per mode")
    ap.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each")
    ap.add_argument("--texts-per-request", type=int, default=1)
    ap.add_argument("--labels", type=int, default=4)
    ap.add_argument("--data", type=Path, default=DATA, help="GLiNER-format JSONL the sentences come from")
    ap.add_argument("--output", type=Path, default=Path("load_test.json"))
    ap.add_argument("--soak", action="store_true", help="micro-batching only, sampled over time")
    ap.add_argument("--sample-every", type=float, default=60.0, help="seconds between soak samples")
    args = ap.parse_args()
    if args.clients < 1 or args.duration <= 0 or args.warmup < 0 or args.texts_per_request < 1:
        ap.error("--clients and --texts-per-request must be >= 1, --duration > 0, --warmup >= 0")
    if not 1 <= args.labels <= len(LABELS):
        ap.error(f"--labels must be in [1, {len(LABELS)}]")
    if not args.data.is_file():
        ap.error(f"--data {args.data} not found: point it at a GLiNER-format JSONL file")

    texts = sentences(args.data, 256)
    k = args.texts_per_request
    labels = LABELS[: args.labels]
    bodies = [{"texts": texts[i : i + k], "labels": labels} for i in range(0, len(texts) - k + 1, k)]
    model_options = ["--model", args.model] if args.model else []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        modes = {"micro-batching": MODES["micro-batching"]} if args.soak else MODES
        for mode, options in modes.items():
            run = Run(mode)
            log = Path(tmp) / "server.log"
            print(
                f"{mode}: {args.clients} clients, {args.warmup:g} s warm-up + {args.duration:g} s", flush=True
            )
            with anyner_serve([*model_options, *options, "--no-access-log"], log) as (url, pid):
                watch = (pid, args.sample_every if args.soak else 0.0)
                asyncio.run(load(url, bodies, args.clients, args.warmup, args.duration, run, watch))
            rows.append(run.summary())
    report = {
        "model": args.model or "default",
        "clients": args.clients,
        "duration_s": args.duration,
        "texts_per_request": k,
        "labels": len(labels),
        "mean_words": round(sum(len(t.split()) for t in texts) / len(texts), 1),
        "cpus": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "runs": rows,
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(table(rows, args.clients))
    for r in rows:
        if r["over_time"]:
            print("\n| t (s) | server RSS MiB | requests | p99 ms |\n|---:|---:|---:|---:|")
            print(
                "\n".join(
                    f"| {s['t_s']} | {s['rss_mib']} | {s['requests']} | {s['p99_ms']} |"
                    for s in r["over_time"]
                )
            )
    print(f"figures written to {args.output}")
    errors = sum(r["errors"] for r in rows)
    if errors:
        samples = [s for r in rows for s in r["error_samples"]]
        sys.exit(f"{errors} request(s) failed, e.g. {samples[:3]}")


if __name__ == "__main__":
    main()
