"""Benchmark: the zoo's ACTION-NET against a plain dense re-implementation of the same formulas.

    python bench/actionnet.py [--repeats 30] [--batch 32] [--threads N]

Both models get the authors' weights layout and identical RG-shaped inputs (a batch of 32 videos,
26 x 1024 clip features and 80 x 2048 crop features); each step is forward + MSE + backward. The two
are timed interleaved, step by step, in one process, and the script prints the medians and their
ratio (target: zoo / plain <= 1.1). It first checks that both compute the same scores.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import Tensor, nn
from torch.nn import functional as F

import registry
import zoo  # noqa: F401


class PlainStream(nn.Module):
    """One context-aware attention module written out by hand, fixed graph, no masks."""

    def __init__(self, c: int, n: int) -> None:
        super().__init__()
        self.embedding = nn.Sequential(nn.Linear(c, c // 2), nn.ReLU(), nn.Linear(c // 2, 256), nn.ReLU())
        self.gcn1, self.gcn2 = nn.Linear(256, 256), nn.Linear(256, 256)
        self.att = nn.Sequential(nn.Linear(512, 128), nn.ReLU(), nn.Linear(128, 1))
        i = torch.arange(n, dtype=torch.float32)
        a = torch.exp(-(i[:, None] - i[None]).abs())
        d = a.sum(1).rsqrt()
        self.register_buffer("adj", d[:, None] * a * d[None])

    def forward(self, x: Tensor) -> Tensor:
        x = self.embedding(x)
        h = F.relu(self.gcn2(self.adj @ F.relu(self.gcn1(self.adj @ x))))
        z = torch.cat([x, h], -1)
        a = torch.softmax(self.att(z).squeeze(-1), -1)
        return (a.unsqueeze(-1) * z).sum(1)


class PlainActionNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.d_ct, self.s_ct = PlainStream(1024, 26), PlainStream(2048, 80)
        self.fc = nn.Sequential(nn.Linear(1024, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 1), nn.Sigmoid())

    def forward(self, dynamic: Tensor, static: Tensor) -> Tensor:
        return self.fc(torch.cat([self.d_ct(dynamic), self.s_ct(static)], -1)).squeeze(-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave the default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    plain = PlainActionNet()
    from zoo.models.official import convert_official

    sd = {k: v for k, v in plain.state_dict().items() if not k.endswith("adj")}
    ckpt = convert_official(sd)
    model = registry.build_model(ckpt["recipe"])
    registry.load_state(model, ckpt["model"])
    dyn, sta = torch.randn(args.batch, 26, 1024), torch.randn(args.batch, 80, 2048)
    target = torch.rand(args.batch)
    plain.eval(), model.eval()
    with torch.no_grad():
        diff = (plain(dyn, sta) - model({"dynamic": dyn, "static": sta})["score"]).abs().max().item()
    print(f"same scores: max |zoo - plain| = {diff:.2e}")
    plain.train(), model.train()

    def step_plain() -> None:
        F.mse_loss(plain(dyn, sta), target).backward()

    def step_zoo() -> None:
        F.mse_loss(model({"dynamic": dyn, "static": sta})["score"], target).backward()

    times: dict[str, list[float]] = {"plain": [], "zoo": []}
    for i in range(args.warmup + args.repeats):
        for name, fn in (
            (("plain", step_plain), ("zoo", step_zoo)) if i % 2 else (("zoo", step_zoo), ("plain", step_plain))
        ):
            tic = time.perf_counter()
            fn()
            if i >= args.warmup:
                times[name].append(time.perf_counter() - tic)
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(
        f"forward+backward, batch {args.batch}, 26x1024 + 80x2048, "
        f"{torch.get_num_threads()} threads, {args.repeats} steps each:"
    )
    print(f"  plain dense: median {med['plain']:.1f} ms")
    print(f"  zoo        : median {med['zoo']:.1f} ms")
    print(f"  ratio zoo / plain = {med['zoo'] / med['plain']:.3f} (target <= 1.1)")


if __name__ == "__main__":
    main()
