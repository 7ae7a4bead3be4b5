"""MkDocs hook: the benchmark page shows the output of ``python -m interlock``
from the build itself (``--quick --json --plot``), so the site never carries a
committed image or stale figures. Needs interlock and matplotlib installed in
the interpreter running mkdocs (docs/requirements.txt + the package).

Set ``INTERLOCK_DOCS_REPORT_ARGS`` to pass other options (e.g. ``""`` for a
full run instead of ``--quick``)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile

from mkdocs.structure.files import File

_state: dict[str, object] = {}
MARKER = "<!-- report-table -->"


def on_files(files, config):
    tmp = tempfile.mkdtemp(prefix="interlock-docs-")
    png = os.path.join(tmp, "report.png")
    args = shlex.split(os.environ.get("INTERLOCK_DOCS_REPORT_ARGS", "--quick"))
    out = subprocess.run([sys.executable, "-m", "interlock", *args, "--no-checks", "--json", "--plot", png],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"python -m interlock --plot failed:\n{out.stderr}")
    _state["report"] = json.loads(out.stdout)
    files.append(File.generated(config, "assets/report.png", abs_src_path=png))
    return files


def _table(report: dict) -> str:
    env = report["environment"]
    lines = [f"Measured while this site was built: interlock {report['version']}, {env['python']} "
             f"({'free-threaded' if env['free_threaded_build'] else 'GIL build'}), {env['cpus_usable']} CPUs"
             + (", `--quick` rounds" if report["settings"]["quick"] else "") + ".", "",
             "| area | operation | interlock ns | compared with | ns | ratio |", "|---|---|---:|---|---:|---:|"]
    for r in report["benchmarks"]:
        for i, c in enumerate(r["compared"]):
            head = f"| {r['group']} | {r['name']} | {r['interlock']['ns']:.1f} |" if i == 0 else "| | | |"
            lines.append(f"{head} {c['label']} | {c['ns']:.1f} | {c['ratio']:.2f} |")
    if report["skipped"]:
        lines += ["", "Rows skipped in that build: " + "; ".join(f"{s['name']} ({s['reason']})"
                                                             for s in report["skipped"]) + "."]
    return "\n".join(lines)


def on_page_markdown(markdown, page, config, files):
    if MARKER in markdown and "report" in _state:
        markdown = markdown.replace(MARKER, _table(_state["report"]))  # type: ignore[arg-type]
    return markdown
