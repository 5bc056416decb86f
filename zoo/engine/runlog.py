"""What a run leaves in its folder: the resolved recipe, metrics.csv, TensorBoard events, curves.png,
results.json, predictions.json. Every file is rewritten whole and atomically, so an interrupted run never leaves a
half-written one (and a resumed run rewrites them from the checkpoint's history)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from registry import dump_recipe, make_folder, write_atomic


class RunLog:
    """Files of one run folder; only the main process makes one."""

    def __init__(self, folder: Path, tensorboard: bool = True) -> None:
        self.folder = make_folder(folder, "write the run's files into")
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(folder / "tensorboard"))

    def recipe(self, recipe: Mapping[str, Any]) -> None:
        dump_recipe(recipe, self.folder / "recipe.yaml")

    def epoch(self, history: Sequence[Mapping[str, Any]]) -> None:
        """Rewrite metrics.csv from the whole history; add the last epoch to TensorBoard."""
        keys: list[str] = []
        for row in history:
            keys += [k for k in row if k not in keys]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=keys)
        writer.writeheader()
        writer.writerows(history)
        write_atomic(self.folder / "metrics.csv", buf.getvalue())
        if self._tb is not None and history:
            row = history[-1]
            for k, v in row.items():
                if k != "epoch" and isinstance(v, int | float):
                    self._tb.add_scalar(k.replace("_", "/", 1), v, row["epoch"])
            self._tb.flush()

    def plot(self, history: Sequence[Mapping[str, Any]], title: str) -> Path:
        """curves.png: training loss, and Spearman on validation and test, per epoch."""
        from .curves import plot_curves

        path = self.folder / "curves.png"
        write_atomic(path, plot_curves(history, title))
        return path

    def results(self, results: Mapping[str, Any]) -> None:
        write_atomic(self.folder / "results.json", json.dumps(results, indent=2))

    def predictions(self, predictions: Mapping[str, Any]) -> None:
        """predictions.json: every validation and test video as the headline checkpoint scores it."""
        write_atomic(self.folder / "predictions.json", json.dumps(predictions))

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
