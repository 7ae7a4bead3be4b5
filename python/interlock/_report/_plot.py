"""``--plot FILE.png``: a bar chart of the report's ratios (matplotlib, the
``interlock[plot]`` extra)."""

from __future__ import annotations

from ._extras import need

COLOURS = {"stdlib": "#4c72b0", "peer": "#dd8452"}


def plot(report: dict, path: str) -> None:
    """One horizontal bar per (row, counterpart): interlock's time over the
    counterpart's, on a log scale; left of the line at 1, interlock is faster."""
    matplotlib = need("matplotlib", "--plot")
    matplotlib.use("Agg")
    plt = need("matplotlib.pyplot", "--plot")

    labels, ratios, colours = [], [], []
    for row in report["benchmarks"]:
        for c in row.get("compared", []):
            if c.get("ratio"):
                labels.append(f"{row['name']}  vs  {c['label']}")
                ratios.append(c["ratio"])
                colours.append(COLOURS.get(c["kind"], "#55a868"))
    if not ratios:
        raise ValueError("nothing to plot: no row was measured")

    env, il = report["environment"], report["interlock"]
    height = 1.2 + 0.28 * len(labels)
    fig, ax = plt.subplots(figsize=(11, height))
    y = list(range(len(labels)))[::-1]
    ax.barh(y, ratios, color=colours, height=0.7)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    for yi, r in zip(y, ratios):
        ax.text(r, yi, f" {r:.2f}" if r >= 0.1 else f" {r:.2g}", va="center", fontsize=6)
    ax.set_xlabel("interlock's time / the counterpart's (log scale; < 1: interlock is faster)")
    build = "free-threaded" if env["free_threaded_build"] else "GIL build"
    ax.set_title(f"interlock {il['version']} on {env['python']} ({build}), "
                 f"{env['cpus_usable']} CPUs" + (" — quick run" if report["settings"]["quick"] else ""),
                 fontsize=9)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in COLOURS.values()]
    ax.legend(handles, ["standard library", "peer library"], fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
