"""What this CPU can do fast: the instruction-set features that decide which precision and
runtime pay off (native bf16, int8 dot products), read once from the kernel's flags."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# flag name in /proc/cpuinfo -> what it gives us
FEATURES = {
    "avx2": "AVX2",
    "fma": "FMA",
    "avx512f": "AVX-512F",
    "avx512_bf16": "AVX512-BF16",
    "amx_bf16": "AMX-BF16",
    "amx_int8": "AMX-INT8",
    "avx512_vnni": "AVX512-VNNI",
    "avx_vnni": "AVX-VNNI",
}


@dataclass(frozen=True)
class CpuInfo:
    model: str
    flags: frozenset[str]  # the FEATURES keys this CPU has

    @property
    def native_bf16(self) -> bool:
        """bf16 matrix work in hardware (AVX512-BF16 or AMX); elsewhere oneDNN emulates it
        slowly and some of its bf16 kernels (the LSTM among them) refuse to run."""
        return bool({"avx512_bf16", "amx_bf16"} & self.flags)

    @property
    def int8_dot(self) -> bool:
        """int8 dot-product instructions (VNNI or AMX), which onnxruntime's int8 kernels use."""
        return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & self.flags)

    def feature_names(self) -> list[str]:
        return [name for flag, name in FEATURES.items() if flag in self.flags]


@lru_cache(maxsize=1)
def cpu_info() -> CpuInfo:
    return parse_cpuinfo(_read_cpuinfo())


def parse_cpuinfo(text: str) -> CpuInfo:
    model, flags = "unknown", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model == "unknown":
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    return CpuInfo(model, frozenset(flags & set(FEATURES)))


def _read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux: assume nothing special
        return ""
