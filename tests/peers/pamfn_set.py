"""A tiny feature set in PAMFN's layout: per class and modality one pickled dict ``<Class>_<modality>_<FEAT>.npy``.

Every video has as many instances of each modality (one per clip), RGB with two crops per clip; the
judged score adds one signal per modality (a direction in its features), so a model that fuses all
three can explain more of it than any branch alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

WIDTHS = {"rgb": 12, "flow": 10, "audio": 8}
FILES = {"rgb": "rgb_VST", "flow": "flow_I3D", "audio": "audio_AST"}
HEADER = "Video_Name\tDifficulty_Score\tExecution_Score\tTotal_Score\tPenalty\tVideo_length\n"


def make_pamfn_set(
    root: Path, n_train: int = 32, n_test: int = 16, classes: tuple[str, ...] = ("Ball",), seed: int = 0
) -> Path:
    rng = np.random.default_rng(seed)
    dicts: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    lines = {"train": [HEADER], "test": [HEADER]}
    for i in range(n_train + n_test):
        cls = classes[i % len(classes)]
        name = f"{cls}_{i:03d}"
        n = int(rng.integers(10, 20))
        quality = rng.uniform(0, 1, size=3)
        for k, (modality, width) in enumerate(WIDTHS.items()):
            shape = (n, 2, width) if modality == "rgb" else (n, width)
            x = rng.normal(size=shape).astype(np.float32)
            x[..., 0] += 3 * quality[k]
            dicts.setdefault((cls, modality), {})[name] = x
        total = round(4 + 6 * quality.sum() / 1.5, 2)
        split = "train" if i < n_train else "test"
        lines[split].append(f"{name}\t{total / 2:.2f}\t{total / 2:.2f}\t{total:.2f}\t0.00\t90\n")
    root.mkdir(parents=True, exist_ok=True)
    for (cls, modality), content in dicts.items():
        np.save(root / f"{cls}_{FILES[modality]}.npy", content, allow_pickle=True)  # as the authors share them
    for split, rows in lines.items():
        (root / f"{split}.txt").write_text("".join(rows))
    return root
