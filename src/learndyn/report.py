"""The ``report.html`` of a run folder: one self-contained page (figures embedded) a researcher can open alone.

It shows, in order: what the run reproduces and whether every check passed; the check table (each row with an
anchor, so a figure can point at the checks it supports); every figure with its caption; the configuration; and
the provenance (version, git commit, command line, library versions).
"""

from __future__ import annotations

import base64
import html
import json

_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; line-height: 1.4; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }
tr.fail td { background: #fdd; } tr.pass td.result { color: #070; font-weight: bold; }
figure { margin: 1.5em 0; } img { max-width: 100%; border: 1px solid #eee; }
figcaption { max-width: 900px; font-size: 0.95em; } .status-ok { color: #070; } .status-fail { color: #b00; }
code, pre { background: #f6f6f6; } pre { padding: 0.6em; overflow-x: auto; }
"""


def _fmt(value) -> str:
    return value if isinstance(value, str) else f"{value:.4g}"


def _anchor(check: str) -> str:
    return "check-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in check)


def report_html(summary: dict, pngs: dict[str, bytes], captions: dict[str, tuple[str, tuple[str, ...]]]) -> str:
    """Render the run's report page.

    Parameters
    ----------
    summary : dict
        The content of ``summary.json`` (experiment, description, checks, config, provenance).
    pngs : dict
        PNG bytes per figure stem; embedded as data URIs so the page needs no other file.
    captions : dict
        ``stem -> (caption, names of the checks the figure supports)``.

    Returns
    -------
    str, the HTML document.

    Examples
    --------
    >>> page = report_html({"experiment": "toy", "checks": {}, "config": {}}, {}, {})
    >>> "<h1>toy</h1>" in page
    True
    """
    esc = html.escape
    checks = summary.get("checks", {})
    rows = []
    for name, c in checks.items():
        mark = "pass" if c["passed"] else "FAIL"
        rows.append(
            f"<tr id='{_anchor(name)}' class='{mark.lower()}'><td><code>{esc(name)}</code></td>"
            f"<td>{_fmt(c['value'])}</td><td>{esc(c['op'])} {_fmt(c['threshold'])}</td>"
            f"<td class='result'>{mark}</td><td>{esc(c.get('description', ''))}</td></tr>"
        )
    n_fail = sum(not c["passed"] for c in checks.values())
    status = (
        f"<b class='status-ok'>all {len(checks)} checks passed</b>"
        if n_fail == 0
        else f"<b class='status-fail'>{n_fail} of {len(checks)} checks FAILED</b>"
    )
    figures = []
    for k, (stem, png) in enumerate(pngs.items(), start=1):
        caption, supports = captions.get(stem, ("", ()))
        links = ", ".join(f"<a href='#{_anchor(c)}'><code>{esc(c)}</code></a>" for c in supports)
        support = f" <i>Supports:</i> {links}." if links else ""
        data = base64.b64encode(png).decode("ascii")
        figures.append(
            f"<figure id='fig-{esc(stem)}'><img src='data:image/png;base64,{data}' alt='{esc(stem)}'>"
            f"<figcaption><b>Figure {k} ({esc(stem)}.png).</b> {esc(caption)}{support}</figcaption></figure>"
        )
    prov_keys = ("version", "git_commit", "started", "seconds", "command", "python", "jax", "numpy", "platform")
    prov = "".join(
        f"<tr><th>{esc(k)}</th><td><code>{esc(str(summary.get(k)))}</code></td></tr>" for k in prov_keys if k in summary
    )
    config = esc(json.dumps(summary.get("config", {}), indent=1))
    description = esc(summary.get("description", ""))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>learndyn: {esc(summary["experiment"])}</title>
<style>{_STYLE}</style></head><body>
<h1>{esc(summary["experiment"])}</h1>
<p>{description}</p>
<p>{status} &middot; learndyn {esc(str(summary.get("version", "")))} &middot; {summary.get("seconds", "?")} s.
Times are gradient-flow time t = lr &middot; step (full-batch GD, loss 1/(2P) &sum; ||y &minus; f||&sup2;).
The trajectories behind the figures are in <code>data.nc</code> (<code>xarray.open_datatree</code>).</p>
<h2>Checks</h2>
<table><tr><th>check</th><th>value</th><th>claim</th><th>result</th><th>what it tests</th></tr>
{"".join(rows)}
</table>
<h2>Figures</h2>
{"".join(figures) or "<p>This experiment draws no figure.</p>"}
<h2>Configuration</h2><pre>{config}</pre>
<h2>Provenance</h2><table>{prov}</table>
</body></html>
"""
