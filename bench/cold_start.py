"""Cold-start benchmark: each CLI command timed as a whole process, against ``--help``.

    python bench/cold_start.py                       # the demo lake and a lake of the real cards
    python bench/cold_start.py --demo .demo/lake --cards ../shared/cards --runs 7

For each lake it runs, as fresh processes with a warm page cache (one untimed run first),
``python -c pass``, ``modellake --help`` and the commands below, ``--runs`` times each,
interleaved, and prints the median wall time of each, its ratio to ``--help`` and to
``python -c pass``, and its target:

* ``search`` <= 1.5 s, ``ask`` <= 2.5 s;
* ``list``, ``show``, ``lineage`` (cached: one untimed run solves it first), ``runs`` <= 0.6 s.

The timed processes run as a user's installation does: with bytecode cached (the untimed
first run writes it; ``PYTHONDONTWRITEBYTECODE`` is dropped from their environment), and with
the reused demo lake's search index brought up to date first (``reindex``, untimed: a lake
indexed by an older version answers from its old index and says so, which is not what is timed).

It also checks that none of ``list``, ``show``, ``runs``, ``search`` imported torch (it runs
them with ``-X importtime`` once). The card lake is built in a temporary folder (ingest
indexes the cards; the build time is printed too). Exits 1 when a target is missed.
Timings on a shared machine are noisy: the load average is printed at start and end.
Results: docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"search": 1.5, "ask": 2.5, "list": 0.6, "show": 0.6, "lineage": 0.6, "runs": 0.6}
NO_TORCH = ("list", "show", "runs", "search")


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("modellake")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "modellake.ui.cli"]


def _commands(lake: Path, model: str, query: str, question: str) -> dict[str, list[str]]:
    cli = [*_cli(), "--lake", str(lake)]
    return {"python -c pass": [sys.executable, "-c", "pass"], "--help": [*_cli(), "--help"],
            "list": [*cli, "list"], "show": [*cli, "show", model], "lineage": [*cli, "lineage"],
            "runs": [*cli, "runs"], "search": [*cli, "search", query],
            "ask": [*cli, "ask", question]}


def _run(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-400:]}")
    return seconds


def _imports_torch(cmd: list[str], env: dict[str, str]) -> bool:
    proc = subprocess.run([sys.executable, "-X", "importtime", *_as_module(cmd)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return any(line.rstrip().endswith("| torch") for line in proc.stderr.splitlines())


def _as_module(cmd: list[str]) -> list[str]:
    """The same command through ``python -m`` (so ``-X importtime`` applies to it)."""
    return cmd[1:] if cmd[1:2] == ["-m"] else ["-m", "modellake.ui.cli", *cmd[1:]]


def time_lake(label: str, lake: Path, model: str, query: str, question: str, runs: int,
              env: dict[str, str]) -> tuple[list[str], bool]:
    """Print the table of one lake; returns the missed targets and whether torch stayed out."""
    cmds = _commands(lake, model, query, question)
    for cmd in cmds.values():  # warm: page cache, lineage cache, search index, encoder export
        _run(cmd, env)
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            times[name].append(_run(cmd, env))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{label}: {lake}  ({runs} runs each, median seconds)")
    print(f"  {'command':<16}{'seconds':>9}{'x --help':>10}{'x python':>10}{'target':>9}  runs")
    missed = []
    for name, t in med.items():
        target = TARGETS.get(name)
        ok = target is None or t <= target
        if not ok:
            missed.append(f"{label} {name} {t:.2f}s > {target}s")
        spread = " ".join(f"{x:.2f}" for x in times[name])
        print(f"  {name:<16}{t:>9.3f}{t / med['--help']:>10.2f}{t / med['python -c pass']:>10.2f}"
              f"{(f'{target:.1f}' if target else '-'):>9}  {spread}{'' if ok else '  MISSED'}")
    torch_free = True
    for name in NO_TORCH:
        if _imports_torch(cmds[name], env):
            torch_free = False
            missed.append(f"{label} {name} imported torch")
    print(f"  torch imported by {', '.join(NO_TORCH)}: {'no' if torch_free else 'YES'}")
    return missed, torch_free


def build_card_lake(cards: Path, root: Path, env: dict[str, str]) -> float:
    files = sorted(str(p) for p in cards.glob("[0-9]*.md"))
    t0 = time.perf_counter()
    subprocess.run([*_cli(), "--lake", str(root), "ingest", *files], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _catch_up(lake: Path, env: dict[str, str]) -> None:
    """Bring a reused lake's search index up to date (untimed): a lake built by an older
    version answers from its old index and says so, which is not the path being timed."""
    proc = subprocess.run([*_cli(), "--lake", str(lake), "reindex"], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"reindex of {lake} failed: {proc.stderr.strip()[-300:]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--demo", type=Path, default=ROOT / ".demo" / "lake", help="the demo lake (make demo)")
    ap.add_argument("--cards", type=Path, default=ROOT.parent / "shared" / "cards",
                    help="the real cards (NNN.md) to build the second lake from")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "NO_COLOR": "1"}
    # as a user's installation: Python caches bytecode (the untimed first run writes it); with
    # PYTHONDONTWRITEBYTECODE set, every run compiles the project's modules again (~0.15 s)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    print(f"load average at start: {os.getloadavg()}")
    missed: list[str] = []
    if (args.demo / "catalog.db").exists():
        _catch_up(args.demo, env)
        m, _ = time_lake("demo lake", args.demo, "minilm-sentiment", "small encoder for sentiment",
                         "what is the parent of minilm-merge?", args.runs, env)
        missed += m
    else:
        print(f"no demo lake at {args.demo} (run `make demo`): skipped")
    if args.cards.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix="cold-start-"))
        try:
            built = build_card_lake(args.cards, tmp / "lake", env)
            print(f"\ncard lake: ingest (and index) of {len(list(args.cards.glob('[0-9]*.md')))} "
                  f"cards took {built:.1f} s")
            m, _ = time_lake("card lake", tmp / "lake", "001", "an instruction-tuned chat model",
                             "which models are licensed apache-2.0?", args.runs, env)
            missed += m
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload average at end: {os.getloadavg()}")
    for m in missed:
        print(f"MISSED: {m}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
