"""Speed benchmark: our pipeline against the script a user would otherwise write.

On ../shared/data/nhs_feedback_phase1.csv (10k NHS patient comments, labelled by the staff
with a subcategory), in one process tree and one run, each in a child process of its own:

  reference  sentence-transformers `encode` + `BERTopic()` with default parts, same model
  cold       `themes run` with an empty stage cache (the default, fast embedding backend)
  rerun      `themes run` again after a clustering-only change (the cache is warm); three
             reruns, each after a different change, and the median time counts, as one
             sub-3-second process is at the mercy of a shared machine's moment
  torch      `themes run` with embedding.backend: torch (fp32), to measure faithfulness

For each: wall time (process start to exit), peak memory (the child's max RSS) and the
adjusted mutual information (AMI) between its clusters and the staff's subcategories (every
comment counts; outliers form one group). Writes bench/results/speed.json and speed.md.

    .venv/bin/python bench/bench_speed.py                 # what `make bench` runs
    .venv/bin/python bench/bench_speed.py --scale 100000  # `make bench-scale`: synthetic rows
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NHS = ROOT.parent / "shared" / "data" / "nhs_feedback_phase1.csv"
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
THEMES = [PYTHON, "-m", "pipeline.cli"]

# One comment a row is one segment: no sentence splitting, and short answers ("Nothing.")
# are answers, not backchannels.
BASE_CONFIG = """\
input:
  paths: [{csv}]
  columns: {{text: feedback, id: row_index}}
segmentation:
  max_sentences: 100000
  max_chars: 1000000
  min_words: 0
taxonomy: none
output:
  dir: {out}
"""
# Each rerun changes clustering only, to a min_cluster_size no run before it used.
RERUN_SIZES = (16, 20, 32)

REFERENCE = """\
import sys, json
import pandas as pd
from bertopic import BERTopic
from sentence_transformers import SentenceTransformer
from pipeline.embed import resolve_model

docs = pd.read_csv(sys.argv[1])["feedback"].fillna("").astype(str).tolist()
model = SentenceTransformer(str(resolve_model("all-MiniLM-L6-v2")), device="cpu")
embeddings = model.encode(docs, show_progress_bar=False)
topics, _ = BERTopic(embedding_model=model).fit_transform(docs, embeddings)
json.dump([int(t) for t in topics], open(sys.argv[2], "w"))
"""


def timed_child(command: list[str], env: dict | None = None) -> dict:
    """Run one child process -> its wall time and its own peak resident memory (from wait4)."""
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out_chunks, err_chunks = [], []
    import threading

    def drain(stream, into):
        for block in iter(lambda: stream.read(65536), b""):
            into.append(block)

    threads = [threading.Thread(target=drain, args=(child.stdout, out_chunks)),
               threading.Thread(target=drain, args=(child.stderr, err_chunks))]
    for t in threads:
        t.start()
    _, status, usage = os.wait4(child.pid, 0)
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    stderr = b"".join(err_chunks).decode("utf-8", "replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(map(str, command))}\n{stderr[-3000:]}")
    return {"wall_s": round(wall, 1), "peak_mb": round(usage.ru_maxrss / 1024), "stderr": stderr}


def rows_of_run(run_dir: Path, n_rows: int) -> list[int]:
    """The cluster of each input row, from a run's segments.csv: a segment names its row in
    its annotations (``id=<row_index>``); rows without text are outliers (-1)."""
    clusters = [None] * n_rows
    with open(run_dir / "segments.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            ids = [a for a in json.loads(row["annotations"] or "[]") if a.startswith("id=")]
            index = int(ids[0][3:]) if ids else int(row["turn_id"]) - 1
            if clusters[index] is None:
                clusters[index] = int(row["cluster_id"])
    return [-1 if c is None else c for c in clusters]


def ami(labels, predicted) -> float:
    from sklearn.metrics import adjusted_mutual_info_score

    return round(float(adjusted_mutual_info_score(labels, predicted)), 4)


def themes_run(config: Path, cache: Path, extra_env: dict | None = None) -> dict:
    env = dict(os.environ, THEMES_CACHE_DIR=str(cache), **(extra_env or {}))
    return timed_child([*THEMES, "run", "--config", str(config)], env)


def write_config(folder: Path, name: str, csv_path: Path, extra: str = "") -> tuple[Path, Path]:
    out = folder / "runs" / name
    config = folder / f"{name}.yaml"
    config.write_text(BASE_CONFIG.format(csv=json.dumps(str(csv_path)), out=json.dumps(str(out))) + extra,
                      encoding="utf-8")
    return config, out


def machine() -> str:
    import re

    cpu = platform.processor() or platform.machine()
    try:
        info = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.+)", info).group(1).strip()
    except (OSError, AttributeError):
        pass
    memory = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, CPU only, Python {platform.python_version()}"


def manifest_of(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def synthetic_csv(source: Path, rows: int, target: Path) -> None:
    """``rows`` distinct comments made by joining two random real comments, so nothing is a
    duplicate that the embedder could skip."""
    import numpy as np
    import pandas as pd

    frame = pd.read_csv(source)
    texts = frame["feedback"].astype(str).tolist()
    labels = frame["subcategory"].astype(str).tolist()
    rng = np.random.default_rng(0)
    first = rng.integers(0, len(texts), rows)
    second = rng.integers(0, len(texts), rows)
    pd.DataFrame({
        "row_index": np.arange(rows),
        "feedback": [f"{texts[a]} {texts[b]}" for a, b in zip(first, second)],
        "subcategory": [labels[a] for a in first],
    }).to_csv(target, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=0, help="instead: one cold run on this many synthetic rows")
    parser.add_argument("--skip-torch", action="store_true", help="leave out the fp32 faithfulness run")
    args = parser.parse_args()
    if not NHS.is_file():
        print(f"skipped: benchmark data not found: {NHS}")
        return
    import pandas as pd

    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="themes-bench-") as tmp:
        folder = Path(tmp)
        if args.scale:
            return scale_run(folder, args.scale)
        labels = pd.read_csv(NHS)["subcategory"].astype(str).tolist()
        n = len(labels)
        results: dict = {"data": NHS.name, "rows": n, "machine": machine(),
                         "date": time.strftime("%Y-%m-%d %H:%M"), "runs": {}}

        def report(name: str, figures: dict) -> None:
            figures.pop("stderr", None)
            results["runs"][name] = figures
            print(f"{name:10s} {json.dumps(figures)}", flush=True)

        predictions = folder / "reference.json"
        script = folder / "reference.py"
        script.write_text(REFERENCE, encoding="utf-8")
        figures = timed_child([PYTHON, str(script), str(NHS), str(predictions)],
                              dict(os.environ, PYTHONPATH=str(ROOT), TOKENIZERS_PARALLELISM="false"))
        figures["ami"] = ami(labels, json.loads(predictions.read_text()))
        report("reference", figures)

        cache = folder / "cache"
        config, out = write_config(folder, "cold", NHS)
        figures = themes_run(config, cache)
        cold = rows_of_run(out, n)
        stages = manifest_of(out)["stage_seconds"]
        figures |= {"ami": ami(labels, cold), "stage_seconds": stages,
                    "embed_segments_per_s": round(n / stages["embed"], 1)}
        report("cold", figures)

        reruns = []
        for size in RERUN_SIZES:
            config, out = write_config(folder, f"rerun-{size}", NHS, f"clustering:\n  min_cluster_size: {size}\n")
            figures = themes_run(config, cache)
            figures.pop("stderr")
            manifest = manifest_of(out)
            reruns.append({"change": f"min_cluster_size: {size}", **figures,
                           "ami": ami(labels, rows_of_run(out, n)),
                           "stage_seconds": manifest["stage_seconds"], "cached": manifest["cached"]})
            print(f"  rerun    {json.dumps(reruns[-1])}", flush=True)
        median = sorted(reruns, key=lambda r: r["wall_s"])[len(reruns) // 2]
        report("rerun", {"wall_s": median["wall_s"], "peak_mb": max(r["peak_mb"] for r in reruns),
                         "ami": reruns[0]["ami"], "median_of": [r["wall_s"] for r in reruns],
                         "reruns": reruns})

        if not args.skip_torch:
            config, out = write_config(folder, "torch", NHS, "embedding:\n  backend: torch\n")
            figures = themes_run(config, cache)
            stages = manifest_of(out)["stage_seconds"]
            fp32 = rows_of_run(out, n)
            figures |= {"ami": ami(labels, fp32), "stage_seconds": stages,
                        "embed_segments_per_s": round(n / stages["embed"], 1),
                        "ami_between_int8_and_fp32_clusters": ami(fp32, cold)}
            report("torch", figures)

    runs = results["runs"]
    ratios = {
        "cold_speedup_vs_reference": round(runs["reference"]["wall_s"] / runs["cold"]["wall_s"], 2),
        "rerun_share_of_cold": round(runs["rerun"]["wall_s"] / runs["cold"]["wall_s"], 3),
        "cold_ami_minus_reference_ami": round(runs["cold"]["ami"] - runs["reference"]["ami"], 4),
    }
    if "torch" in runs:
        ratios["int8_ami_minus_fp32_ami"] = round(runs["cold"]["ami"] - runs["torch"]["ami"], 4)
    results["ratios"] = ratios
    print(json.dumps(ratios, indent=1))
    (RESULTS / "speed.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (RESULTS / "speed.md").write_text(markdown(results), encoding="utf-8")
    print(f"written: {RESULTS / 'speed.md'}")


def markdown(results: dict) -> str:
    runs, ratios = results["runs"], results["ratios"]
    lines = [
        f"Measured {results['date']} on {results['machine']}; data: {results['data']} "
        f"({results['rows']} comments). Command: `make bench`.",
        "",
        "| run | wall time | peak memory | AMI vs staff subcategories | embedding |",
        "|---|---|---|---|---|",
    ]
    names = {"reference": "sentence-transformers + `BERTopic()` defaults", "cold": "`themes run`, empty cache",
             "rerun": "`themes run` after a clustering change (`min_cluster_size: 16`; time: median of three changes)", "torch": "`themes run`, `embedding.backend: torch`"}
    for name, figures in runs.items():
        speed = f"{figures['embed_segments_per_s']} segments/s" if "embed_segments_per_s" in figures else ""
        wall = f"{figures['wall_s']} s"
        if "median_of" in figures:
            wall += f" (median of {', '.join(map(str, figures['median_of']))})"
        lines.append(f"| {names.get(name, name)} | {wall} | {figures['peak_mb']} MB | "
                     f"{figures['ami']} | {speed} |")
    lines += ["", f"- cold run: {ratios['cold_speedup_vs_reference']}x faster than the reference script; "
                  f"AMI difference {ratios['cold_ami_minus_reference_ami']:+}",
              f"- rerun after a clustering change: {ratios['rerun_share_of_cold'] * 100:.1f} % of the cold run"]
    if "int8_ami_minus_fp32_ami" in ratios:
        lines.append(f"- int8 against fp32 embeddings: AMI difference {ratios['int8_ami_minus_fp32_ami']:+}; "
                     f"AMI between the two clusterings {runs['torch']['ami_between_int8_and_fp32_clusters']}")
    return "\n".join(lines) + "\n"


def scale_run(folder: Path, rows: int) -> None:
    data = folder / "synthetic.csv"
    synthetic_csv(NHS, rows, data)
    config, out = write_config(folder, "scale", data)
    figures = themes_run(config, folder / "cache")
    figures.pop("stderr", None)
    figures |= {"rows": rows, "stage_seconds": manifest_of(out)["stage_seconds"], "machine": machine(),
                "date": time.strftime("%Y-%m-%d %H:%M")}
    print(json.dumps(figures, indent=1))
    (RESULTS / f"scale-{rows}.json").write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
