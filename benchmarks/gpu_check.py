"""On a machine with an NVIDIA GPU: two ``Resources(gpu=1)`` tasks on the process
executor run one after the other when there is one GPU, each sees exactly one
device (``CUDA_VISIBLE_DEVICES``), and a small matrix multiply on it is timed
(with PyTorch when installed, else CuPy; without either, only the devices are shown).

    python benchmarks/gpu_check.py
"""

import os
import sys
import tempfile
import time

import _harness as h

FLOWS = '''
import os, time
from rillet import Resources, task, workflow

@task(requests=Resources(gpu=1))
def on_gpu(i: int) -> dict:
    started = time.time()
    seen = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    result = {"i": i, "visible": seen, "start": started, "pid": os.getpid()}
    try:
        import torch
        a = torch.randn(4096, 4096, device="cuda")
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(10):
            b = a @ a
        torch.cuda.synchronize()
        secs = (time.perf_counter() - t0) / 10
        result.update(devices=torch.cuda.device_count(), name=torch.cuda.get_device_name(0),
                      matmul_s=secs, tflops=2 * 4096**3 / secs / 1e12)
    except ImportError:
        result["note"] = "torch not installed: devices only"
    time.sleep(1.0)
    result["end"] = time.time()
    return result

@workflow
def two(a: int = 0, b: int = 1) -> list:
    return [on_gpu(i=a), on_gpu(i=b)]
'''


def main() -> None:
    import rillet
    from rillet.executors._capacity import gpu_ids

    ids = gpu_ids()
    print(f"GPUs this process may use: {ids or 'none'}")
    if not ids:
        print("no GPU here: nothing to check (run this on a machine with an NVIDIA GPU)")
        sys.exit(0)
    module = h.load_source("gpu_check_flows.py", FLOWS)
    started = time.time()
    ex = rillet.run(module.two, home=tempfile.mkdtemp(prefix="rillet-gpu-home-"))
    print(f"execution {ex.id}: {ex.status} in {time.time() - started:.1f}s")
    (results,) = ex.outputs.values()
    for r in results:
        print({k: (round(v - started, 2) if k in ("start", "end") else v) for k, v in r.items()})
    one, other = sorted(results, key=lambda r: r["start"])
    assert all(r["visible"] and "," not in r["visible"] for r in results), "one device each"
    if len(ids) == 1:
        assert other["start"] >= one["end"] - 0.05, "one GPU: the second ran after the first"
        print("one GPU: the two gpu=1 tasks ran one after the other")
    else:
        assert one["visible"] != other["visible"] or other["start"] >= one["end"] - 0.05
        print(f"{len(ids)} GPUs: the two gpu=1 tasks had distinct devices or ran in turn")
    os.environ.pop("RILLET_GPUS", None)


if __name__ == "__main__":
    main()
