"""Regenerate the golden fixtures from PyTorch: ``python tests/golden/make_golden.py [family ...]``.

Every ``gen_<family>.py`` beside this script defines ``cases(rng) -> list[dict]``: each case a dict
of JSON-able parameters plus NumPy arrays (inputs and PyTorch's outputs, stored as float32). They
are written to ``<family>.npz``: one float32 ``blob`` and a JSON ``index`` of each case's parameters
and array offsets/shapes.
Needs torch (``pip install torch==2.13.0``); the tests only read the .npz files.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def write(family: str, cases: list[dict]) -> Path:
    """One compressed blob of float32 values plus a JSON index (a few entries, not thousands)."""
    blob: list[np.ndarray] = []
    offset = 0
    index = []
    for case in cases:
        entry = {"params": {k: v for k, v in case.items() if not isinstance(v, np.ndarray)}, "arrays": {}}
        for k, v in case.items():
            if isinstance(v, np.ndarray):
                flat = np.ascontiguousarray(v, dtype=np.float32).ravel()
                entry["arrays"][k] = [offset, list(v.shape)]
                blob.append(flat)
                offset += flat.size
        index.append(entry)
    path = HERE / f"{family}.npz"
    np.savez_compressed(path, blob=np.concatenate(blob) if blob else np.zeros(0, np.float32),
                        index=np.array(json.dumps(index, sort_keys=True)))
    return path


def main(families: list[str]) -> None:
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    gens = sorted(HERE.glob("gen_*.py"))
    for gen in gens:
        family = gen.stem[4:]
        if families and family not in families:
            continue
        spec = importlib.util.spec_from_file_location(gen.stem, gen)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        cases = module.cases(np.random.default_rng(20261125))
        path = write(family, cases)
        print(f"{path.name}: {len(cases)} cases, torch {torch.__version__}")


def load(family: str) -> list[dict]:
    """Read a fixture file back as a list of case dicts (used by the tests)."""
    with np.load(HERE / f"{family}.npz", allow_pickle=False) as data:
        blob, index = data["blob"], json.loads(str(data["index"]))
    cases = []
    for entry in index:
        case = dict(entry["params"])
        for name, (offset, shape) in entry["arrays"].items():
            size = int(np.prod(shape)) if shape else 1
            case[name] = blob[offset:offset + size].reshape(shape)
        cases.append(case)
    return cases


if __name__ == "__main__":
    main(sys.argv[1:])
