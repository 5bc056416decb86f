"""Seeds as an axis: one recipe trained once per seed, each seed a run of its own, then the spread over seeds.

``train_seed`` is the one way a seed is trained: the recipe with ``train.seed=S`` (``with_seed``),
one ``Trainer`` into its folder, the same run ``tools/train.py RECIPE train.seed=S`` makes.
``train_seeds`` trains several, one after another in this process (data loaded once may be shared,
as the zoo's table does) or several at once, each in a spawned process of its own; a seed that
raises is reported with its error and the others go on. ``tools/train.py --seeds`` (through
``train_recipe_seeds``: one parent folder, ``results.json`` with every seed and mean ± sd) and
``tools/zoo_table.py`` both go through them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from registry import ConfigError, UserError, build_model, load_recipe, make_folder, write_atomic
from registry.recipe import recipe_name

from .distributed import pick_device, world_from_env
from .metrics import mean_sd
from .report import seeds_table
from .run import python_command
from .rundir import SEEDS_SUFFIX, create_run_dir, write_state
from .sections import Recipe, check_recipe, check_seeds, seed_overrides, with_seed
from .stacked import fit_stacked, own_generator, why_not_stacked
from .trainer import STOP_SIGNALS, Trainer, TrainingInterrupted, build_data

if TYPE_CHECKING:
    from ..data.features import FeatureData

SEEDS_FORMAT = "aqa-seeds/1"  # a parent results.json: every seed's results and the mean ± sd over seeds
GIB = 1 << 30
# What one seed's process needs besides its copy of the features: the interpreter, torch and its kernels,
# a model with its gradients and optimiser state, evaluation buffers. A rough figure for the zoo's models
# (well under 100 M parameters); it only sizes how many seeds train at once.
PROCESS_OVERHEAD = GIB

Measure = Callable[[Trainer], dict[str, Any]]  # more numbers of a fitted seed (the table: inference time)


@dataclass
class SeedRun:
    """One seed's outcome: its folder and results, or the error that stopped it (``exit_code`` as a tool's)."""

    seed: int
    run_dir: str
    results: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # what ``measure`` added
    error: str | None = None
    exit_code: int = 0
    traceback: str | None = None  # for a bug (not a UserError), kept as a tool would print it

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class SeedJob:
    """What a worker needs to train one seed (plain values: it crosses into a spawned process)."""

    recipe: dict[str, Any]
    seed: int
    run_dir: str
    name: str
    progress: bool | None
    accept_mismatch: bool
    measure: Measure | None = None
    threads: int | None = None  # torch threads in a worker process; None: leave this process as it is


# -- one seed -----------------------------------------------------------------------------------
def train_seed(
    recipe: Recipe | Mapping[str, Any],
    seed: int,
    run_dir: str | Path,
    *,
    name: str,
    progress: bool | None = None,
    data: FeatureData | None = None,
    accept_mismatch: bool = False,
    measure: Measure | None = None,
) -> SeedRun:
    """Seed ``seed`` of ``recipe`` trained into ``run_dir``: the run ``tools/train.py RECIPE train.seed=S`` makes.

    ``data``: features already loaded for this recipe (shared by seeds trained in one process; the
    splits do not depend on the seed). ``measure(trainer)`` adds numbers of the fitted model.
    """
    folder = make_folder(run_dir, "create the seed's run folder")
    raw = with_seed(check_recipe(recipe).raw, seed)
    trainer = Trainer(raw, folder, name=name, progress=progress, data=data, accept_mismatch=accept_mismatch)
    results = trainer.fit()
    return SeedRun(seed, str(folder), results=results, extra=measure(trainer) if measure else {})


def _attempt(job: SeedJob, data: FeatureData | None = None, keep_going: bool = True) -> SeedRun:
    """``train_seed`` for ``job``; an exception becomes a failed ``SeedRun`` (unless not ``keep_going``)."""
    try:
        return train_seed(
            job.recipe,
            job.seed,
            job.run_dir,
            name=job.name,
            progress=job.progress,
            data=data,
            accept_mismatch=job.accept_mismatch,
            measure=job.measure,
        )
    except (TrainingInterrupted, Exception) as e:
        if not keep_going:
            raise
        return seed_failure(job, e)


def seed_failure(job: SeedJob, e: BaseException) -> SeedRun:
    """A seed ended by ``e`` as the seeds' table says it: stopped by a signal (saved, resumable), a user error
    (its exit code), or a bug (exit code 1, with its traceback)."""
    if isinstance(e, TrainingInterrupted):
        return SeedRun(job.seed, job.run_dir, error=f"stopped: {e}", exit_code=e.exit_code)
    user = isinstance(e, UserError)
    return SeedRun(
        job.seed,
        job.run_dir,
        error=f"{type(e).__name__}: {e}",
        exit_code=int(e.exit_code) if user else 1,
        traceback=None if user else "".join(traceback.format_exception(e)),
    )


def _worker(job: SeedJob, conn: Connection) -> None:
    """A spawned process's work: one seed, its outcome sent back through ``conn``."""
    if hasattr(os, "setpgrp"):  # a terminal's Ctrl-C reaches the parent alone, which asks each seed once
        os.setpgrp()
    if job.threads is not None:
        torch.set_num_threads(job.threads)  # the machine's cores split between the seeds running at once
    outcome = _attempt(job)
    conn.send(outcome)
    conn.close()


# -- several seeds ------------------------------------------------------------------------------
def train_seeds(
    recipe: Recipe | Mapping[str, Any],
    seeds: Sequence[int],
    parent: str | Path,
    *,
    name: str,
    workers: int = 1,
    progress: bool | None = None,
    data: FeatureData | None = None,
    accept_mismatch: bool = False,
    measure: Measure | None = None,
    on_done: Callable[[SeedRun], None] | None = None,
    keep_going: bool = True,
    stacked: bool = False,
) -> list[SeedRun]:
    """Train ``recipe`` once per seed into ``parent/seed<S>/``; one ``SeedRun`` per seed, in the order given.

    ``workers`` 1: one seed after another in this process (``data`` shared by them when given; with
    ``keep_going`` False the first exception propagates), or with ``stacked`` all of them at once as one
    batched model (``zoo.engine.stacked``; the caller has asked ``why_not_stacked``). More: that many
    seeds at once, each in a spawned process with ``cores // workers`` torch threads, loading its own
    data. ``on_done`` is called as each seed ends (e.g. to keep what it made before the next one starts).
    """
    raw = check_recipe(recipe).raw
    jobs = [
        SeedJob(raw, seed, str(Path(parent) / f"seed{seed}"), name, progress, accept_mismatch, measure)
        for seed in seeds
    ]
    if stacked and workers <= 1 and len(jobs) > 1:
        return _stacked(jobs, data, on_done, keep_going)
    if workers <= 1:
        runs = []
        for job in jobs:
            runs.append(_attempt(job, data, keep_going))
            if on_done:
                on_done(runs[-1])
            if runs[-1].exit_code > 128:  # a stop signal ended this seed: the next ones do not start
                raise _stopped(runs[-1].exit_code - 128, {r.seed: r for r in runs}, jobs)
        return runs
    if data is not None:
        raise ValueError("train_seeds: loaded data is shared in one process only (workers=1)")  # a caller's bug
    threads = worker_threads(workers)
    done = _in_processes([dataclasses.replace(j, threads=threads) for j in jobs], workers, on_done)
    return [done[j.seed] for j in jobs]


def _stacked(
    jobs: Sequence[SeedJob],
    data: FeatureData | None,
    on_done: Callable[[SeedRun], None] | None,
    keep_going: bool,
) -> list[SeedRun]:
    """Every job's ``Trainer`` built here, one after another (each seed's dropout stream taken right after its
    own, where its fit alone would start), then trained together (``fit_stacked``)."""
    if data is None:
        data = build_data(check_recipe(jobs[0].recipe), model_inputs(check_recipe(jobs[0].recipe)), progress=False)
    done: dict[int, SeedRun] = {}
    errors: list[BaseException] = []  # without keep_going, the first seed's error is the caller's
    trainers, by_trainer = [], {}
    for job in jobs:
        try:
            folder = make_folder(job.run_dir, "create the seed's run folder")
            t = Trainer(
                with_seed(job.recipe, job.seed),
                folder,
                name=job.name,
                progress=False,
                data=data,
                accept_mismatch=job.accept_mismatch,
            )
        except Exception as e:
            if not keep_going:
                raise
            done[job.seed] = seed_failure(job, e)
            if on_done:
                on_done(done[job.seed])
            continue
        t.torch_rng = own_generator(t.device)
        trainers.append(t)
        by_trainer[id(t)] = job

    def ended(t: Trainer, outcome: dict[str, Any] | BaseException) -> None:
        job = by_trainer[id(t)]
        if isinstance(outcome, BaseException):
            errors.append(outcome)
            run = seed_failure(job, outcome)
        else:
            run = SeedRun(job.seed, job.run_dir, results=outcome)
            if job.measure:
                run.extra = job.measure(t)
        done[job.seed] = run
        if on_done:
            on_done(run)

    if trainers:
        fit_stacked(trainers, ended)
    bugs = [e for e in errors if not isinstance(e, TrainingInterrupted)]
    if bugs and not keep_going:
        raise bugs[0]
    stopped = [r for r in done.values() if r.exit_code > 128]
    if stopped:
        raise _stopped(stopped[0].exit_code - 128, done, jobs)
    return [done[j.seed] for j in jobs]


def worker_threads(workers: int) -> int:
    """Torch threads of each seed's process: the cores shared out (a seed trained here keeps this process's)."""
    if workers <= 1:
        return torch.get_num_threads()
    return max(1, (os.cpu_count() or 1) // workers)


@dataclass
class _Running:
    job: SeedJob
    process: Any  # a SpawnProcess
    conn: Connection
    outcome: SeedRun | None = None
    heard: bool = False  # the pipe gave its one message, or its end


def _in_processes(
    jobs: Sequence[SeedJob], workers: int, on_done: Callable[[SeedRun], None] | None
) -> dict[int, SeedRun]:
    """Each job in a spawned process of its own, ``workers`` at a time. A process of its own per seed: one that
    dies (killed for memory) takes only its seed with it, and every seed starts from a fresh interpreter, as
    a run of tools/train.py does."""
    ctx = get_context("spawn")  # no fork: CUDA and threads in this process must not be copied mid-state
    waiting, running, done = list(jobs), [], {}
    asked: list[int] = []

    def ask_seeds_to_stop(signum: int, frame: object) -> None:
        if asked:  # the second signal: stop now (the finally below ends every seed's process)
            raise KeyboardInterrupt
        asked.append(signum)
        print(
            f"\n{signal.Signals(signum).name}: each running seed finishes its epoch, saves last.pt and stops; no "
            "other seed starts (send it again to stop at once, without saving)",
            file=sys.stderr,
            flush=True,
        )
        for w in running:
            if w.process.pid is not None and w.process.exitcode is None:
                os.kill(w.process.pid, signal.SIGTERM)

    main = threading.current_thread() is threading.main_thread()
    before = {s: signal.signal(s, ask_seeds_to_stop) for s in STOP_SIGNALS} if main else {}
    try:
        while (waiting and not asked) or running:
            while waiting and not asked and len(running) < workers:
                job = waiting.pop(0)
                receive, send = ctx.Pipe(duplex=False)
                process = ctx.Process(target=_worker, args=(job, send), name=f"seed{job.seed}")
                process.start()
                send.close()  # the child holds the only sending end: its death ends the pipe
                running.append(_Running(job, process, receive))
            # Wait on the pipes too: a child whose message is larger than the pipe holds waits for it to be read.
            ready = set(wait([w.process.sentinel for w in running] + [w.conn for w in running if not w.heard]))
            for w in list(running):
                if not w.heard and w.conn in ready:
                    w.outcome, w.heard = _receive(w.conn), True
                if w.process.sentinel in ready:
                    w.process.join()
                    running.remove(w)
                    done[w.job.seed] = _ended(w)
                    if on_done:
                        on_done(done[w.job.seed])
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
        for w in running:  # interrupted (Ctrl-C, an error here): no seed outlives the command
            w.process.terminate()
            w.process.join()
    if asked:
        raise _stopped(asked[0], done, jobs)
    return done


def _stopped(signum: int, done: Mapping[int, SeedRun], jobs: Sequence[SeedJob]) -> TrainingInterrupted:
    """The seeds' stop at a signal: each seed's own line (how to resume it), and those that never started."""
    stopped = [f"seed {r.seed}: {r.error}" for r in done.values() if r.error]
    never = [j.seed for j in jobs if j.seed not in done]
    return TrainingInterrupted(
        f"{signal.Signals(signum).name}: the seeds stopped."
        + "".join(f"\n  {line}" for line in stopped)
        + (f"\n  not started: seeds {', '.join(map(str, never))}" if never else ""),
        signum,
    )


def _receive(conn: Connection) -> SeedRun | None:
    try:
        return conn.recv()
    except EOFError:  # the process ended without a word
        return None


def _ended(w: _Running) -> SeedRun:
    """The finished process's outcome, or a failure saying how it ended when it sent none."""
    if w.outcome is None and not w.heard and w.conn.poll():
        w.outcome = _receive(w.conn)
    w.conn.close()
    if w.outcome is not None:
        return w.outcome
    code = w.process.exitcode
    killed = code is not None and code < 0
    how = f"killed by signal {-code}, out of memory?" if killed else f"exit code {code}"
    return SeedRun(
        w.job.seed,
        w.job.run_dir,
        error=f"its worker process ended ({how}) without a result; its output above says more",
        exit_code=1,
    )


# -- how many at once ---------------------------------------------------------------------------
def available_memory() -> int | None:
    """Bytes of memory available to new processes (``MemAvailable`` of /proc/meminfo); None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the file counts kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def feature_bytes(data: FeatureData) -> int:
    """Bytes of the loaded features (every split and input): what each seed's process holds of its own."""
    return sum(int(a.nbytes) for part in data.splits().values() for arrays in part.features.values() for a in arrays)


def seed_workers(seeds: int, device: torch.device, per_process: int, requested: int | None = None) -> int:
    """How many seeds train at once: ``requested`` (``--parallel-seeds``) when given; one on a GPU (seeds at
    once would share its memory and compute); else as many as the cores and the memory allow.

    The memory estimate: each process needs ``per_process`` bytes (its features plus ``PROCESS_OVERHEAD``)
    out of ``MemAvailable``; where that is unknown, the cores alone decide.
    """
    if requested is not None:
        return max(1, min(requested, seeds))
    if device.type == "cuda":
        return 1
    by_cores = os.cpu_count() or 1
    free = available_memory()
    by_memory = max(1, free // max(per_process, 1)) if free is not None else seeds
    return max(1, min(seeds, by_cores, by_memory))


# -- the command: several seeds of a recipe into one parent folder ------------------------------
def plan_seeds(
    recipe: str | Path, overrides: Sequence[str], given: Sequence[int] | None
) -> tuple[list[int], list[str]]:
    """The seeds to train (``--seeds`` over ``train.seeds``, saying so; none: the recipe's one run) and the
    overrides of the run when there is one seed (``train.seed=S`` added: that very run, no parent folder)."""
    parsed = check_recipe(load_recipe(recipe, overrides))
    listed = parsed.train.seeds
    if given is not None:
        check_seeds(list(given), "--seeds")
        if listed is not None:
            print(f"--seeds {','.join(map(str, given))} wins over the recipe's train.seeds {listed}", flush=True)
    seeds = list(given) if given is not None else list(listed or [])
    if len(seeds) == 1:
        return seeds, [*overrides, *seed_overrides(parsed.raw, seeds[0])]
    return seeds, list(overrides)


def refuse_with_seeds(seeds: Sequence[int], per_class: bool = False, resume: bool | str | Path = False) -> None:
    """The options that do not go with several seeds: a ``ConfigError`` saying what to run instead."""
    listed = ",".join(map(str, seeds))
    if per_class:  # each class times each seed, with a table of both, is not built yet
        raise ConfigError(
            f"--per-class with several seeds ({listed}) is not supported yet: train the seeds of one class "
            f"(data.classes=[<class>] --seeds {listed}), or every class with one seed (--per-class --seeds S)"
        )
    if resume:
        raise ConfigError(
            f"--resume continues one run, and seeds {listed} were asked for: resume one seed's folder, "
            "--resume runs/<recipe>/<stamp>-seeds/seed<S> --seeds S"
        )


def model_inputs(recipe: Recipe) -> dict[str, int]:
    """The inputs (and widths) the recipe's model reads, from a model built on the meta device (no memory)."""
    with torch.device("meta"):
        return dict(build_model(recipe.raw).inputs)


def stacking_refused(
    recipe: Recipe, data: FeatureData, device: torch.device, seeds: int, parallel: int | None = None
) -> str | None:
    """None when ``seeds`` seeds of ``recipe`` train stacked (``train.stack_seeds``, where the model allows);
    else why they do not, said to the user."""
    if seeds < 2:
        return "one seed"
    if parallel is not None:
        return f"--parallel-seeds {parallel} asks for processes"
    if recipe.train.stack_seeds is False:
        return "train.stack_seeds is false"
    if recipe.train.stack_seeds == "auto" and device.type != "cuda":
        return (
            "on the CPU, stacked seeds measured slower than seeds one by one (bench/train.py --stacked 5); "
            "train.stack_seeds=true stacks them anyway"
        )
    torch.manual_seed(recipe.train.seed)
    model = build_model(recipe.raw).to(device)
    model.fit_input_stats(data.train.features)
    return why_not_stacked(recipe, model, data, device)


def train_recipe_seeds(
    recipe: str | Path,
    overrides: Sequence[str],
    seeds: Sequence[int],
    parallel: int | None = None,
    progress: bool | None = None,
    accept_mismatch: bool = False,
) -> dict[str, Any]:
    """Train ``recipe`` once per seed under ``<run.out>/<recipe>/<timestamp>-seeds/`` (``seed<S>/`` each, as
    ``train.seed=S`` would), print one table and write ``results.json`` (every seed, mean ± sd) and ``run.json``.

    The features are read here once first: caches are made before any seed starts, bad files are named
    once, and their size decides how many seeds train at once (``seed_workers``; ``parallel`` overrides).
    Returns the summary written to results.json; ``seeds_exit_code`` says how the command ends.
    """
    parsed = check_recipe(load_recipe(recipe, overrides))
    name = recipe_name(recipe)
    world = world_from_env()
    if world.distributed:
        raise ConfigError(
            "--seeds under torchrun: each seed is a run of its own, trained in a process of its own; run one seed "
            "per torchrun (train.seed=S), or --seeds without torchrun"
        )
    show = parsed.run.progress if progress is None else progress
    data = build_data(parsed, model_inputs(parsed), progress=show)
    device = pick_device(parsed.run.device, world)
    unstacked = stacking_refused(parsed, data, device, len(seeds), parallel)
    stacked = unstacked is None
    workers = 1 if stacked else seed_workers(len(seeds), device, feature_bytes(data) + PROCESS_OVERHEAD, parallel)
    shared = data if workers == 1 else None  # processes of their own load their own: this copy is let go
    del data
    parent = create_run_dir(parsed.run.out, name, world, suffix=SEEDS_SUFFIX)
    write_state(parent, "running", recipe=name, seeds=list(seeds), workers=workers, stacked=stacked)
    how = "stacked in one process (one batched model)" if stacked else f"{workers} at a time"
    print(f"{name}: seeds {', '.join(map(str, seeds))} into {parent}, {how}", flush=True)
    if unstacked:
        print(f"{name}: not stacked: {unstacked}", flush=True)
    try:
        runs = train_seeds(
            parsed,
            seeds,
            parent,
            name=name,
            workers=workers,
            progress=show if workers == 1 else False,  # bars of several processes would overwrite each other
            data=shared,
            accept_mismatch=accept_mismatch,
            on_done=say_done,
            stacked=stacked,
        )
    except BaseException:
        write_state(parent, "failed")
        raise
    summary = summarize_seeds(name, parent, runs, workers, stacked)
    write_atomic(parent / "results.json", json.dumps(summary, indent=2))
    write_state(parent, "failed" if summary["failed"] else "finished", failed_seeds=summary["failed"])
    print(seeds_table(summary))
    print(seeds_next_steps(summary))
    return summary


def say_done(run: SeedRun) -> None:
    """One line as a seed ends (a bug's traceback on stderr, as a tool prints one)."""
    if run.ok:
        r = run.results or {}
        print(f"seed {run.seed}: finished ({r.get('headline', '-')}) in {run.run_dir}", flush=True)
        return
    if run.exit_code > 128:  # a stop signal: saved and resumable (the error says how), not a failure
        print(f"seed {run.seed}: {run.error}", flush=True)
        return
    print(f"seed {run.seed}: FAILED: {run.error}", flush=True)
    if run.traceback:
        print(f"seed {run.seed}:\n{run.traceback}", file=sys.stderr, flush=True)


def seeds_exit_code(summary: Mapping[str, Any]) -> int:
    """0 when every seed finished, else the first failed seed's (2 input, 3 diverged, 4 disk full, 1 a bug)."""
    return next((int(e.get("exit_code") or 1) for e in summary["seeds"] if e["status"] != "finished"), 0)


# -- the summary --------------------------------------------------------------------------------
def headline_numbers(results: Mapping[str, Any]) -> dict[str, Any]:
    """A seed's headline (label, epoch) and test Spearman of the headline and of the last epoch, with why
    either is undefined."""
    entry = results.get("selected") or results.get("last") or {}
    last = results.get("last") or {}
    out: dict[str, Any] = {
        "headline": results.get("headline"),
        "epoch": entry.get("epoch"),
        "spearman": results.get("spearman"),
        "last_spearman": last.get("test_spearman"),
    }
    nothing = results.get("note")  # a run that evaluated no epoch says so in its note
    if out["spearman"] is None:
        out["spearman_undefined"] = results.get("spearman_undefined") or nothing
    if out["last_spearman"] is None:
        out["last_spearman_undefined"] = last.get("test_spearman_undefined") or nothing
    return {k: v for k, v in out.items() if not (k.endswith("_undefined") and v is None)}


def seed_entry(run: SeedRun) -> dict[str, Any]:
    """A seed as the parent results.json holds it: headline numbers and its whole results.json, or its error."""
    base: dict[str, Any] = {"seed": run.seed, "run_dir": run.run_dir}
    if not run.ok:
        failed = {**base, "status": "failed", "error": run.error, "exit_code": run.exit_code}
        return {**failed, "traceback": run.traceback} if run.traceback else failed
    results = run.results or {}
    return {**base, "status": "finished", **headline_numbers(results), "results": results}


def aggregate(entries: Sequence[Mapping[str, Any]], key: str) -> dict[str, Any]:
    """Mean ± sd of ``key`` over the seeds; undefined (saying how many) when a seed failed or has none."""
    failed = sum(e["status"] != "finished" for e in entries)
    if failed:
        why = f"{failed} of {len(entries)} seeds failed"
        return {"mean": None, "sd": None, "mean_undefined": why, "sd_undefined": why, "seeds": len(entries)}
    return {**mean_sd([e.get(key) for e in entries]).flat(), "seeds": len(entries)}


def summarize_seeds(
    name: str, parent: Path, runs: Sequence[SeedRun], workers: int, stacked: bool = False
) -> dict[str, Any]:
    """The parent's results.json: every seed and the mean ± sd of headline and last-epoch test Spearman."""
    entries = [seed_entry(r) for r in runs]
    return {
        "format": SEEDS_FORMAT,
        "recipe": name,
        "run_dir": str(parent),
        "seeds": entries,
        "aggregate": {"spearman": aggregate(entries, "spearman"), "last_spearman": aggregate(entries, "last_spearman")},
        "failed": [e["seed"] for e in entries if e["status"] != "finished"],
        "workers": workers,
        "stacked": stacked,
        # CPU sums depend on the thread count: a seed equals its single run made with this many threads
        "threads": worker_threads(workers),
    }


def seeds_next_steps(summary: Mapping[str, Any]) -> str:
    """Where the seeds' files are, and the commands to try next."""
    parent = Path(summary["run_dir"])
    py, q = python_command(), shlex.quote  # a path with spaces must paste as one argument
    lines = [f"parent folder: {parent}", f"  results:  {parent / 'results.json'}"]
    lines += [f"  seed {e['seed']}:  {e['run_dir']} ({e['status']})" for e in summary["seeds"]]
    lines += ["next:", f"  {py} tools/report.py {q(str(parent))}"]
    for e in summary["seeds"][:1]:
        if e["status"] == "finished":
            ckpt = Path(e["run_dir"]) / ("selected.pt" if e["results"].get("selected") else "last.pt")
            lines.append(f"  {py} tools/test.py --checkpoint {q(str(ckpt))}")
    return "\n".join(lines)
