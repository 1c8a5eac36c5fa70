"""Tables, medians and the chart (a hand-written SVG: no plotting library, no internet)."""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import Any

from loadtests.stats import dig, median_of

# (column title, path in a run's result, format)
COLUMNS: list[tuple[str, str, str]] = [
    ("doors", "config.doors", "{:.0f}"),
    ("dash", "config.dashboards", "{:.0f}"),
    ("checkins/s", "checkins.per_s", "{:.0f}"),
    ("ceiling/s", "ceiling.per_s", "{:.0f}"),
    ("ratio", "ratio", "{:.1%}"),
    ("p50 ms", "latency_ms.p50", "{:.1f}"),
    ("p95 ms", "latency_ms.p95", "{:.1f}"),
    ("p99 ms", "latency_ms.p99", "{:.1f}"),
    ("max ms", "latency_ms.max", "{:.0f}"),
    ("lag p50", "push.lag_ms.p50", "{:.0f}"),
    ("lag p99", "push.lag_ms.p99", "{:.0f}"),
    ("lag max", "push.lag_ms.max", "{:.0f}"),
    ("deliv/s", "push.deliveries_per_s", "{:.0f}"),
    ("missed", "push.missed_per_dashboard.max", "{:.0f}"),
    ("gen cpu", "cpu.generator_cores", "{:.2f}"),
    ("hub cpu", "cpu.hub_cores", "{:.2f}"),
]
MEDIAN_PATHS = [c[1] for c in COLUMNS[2:]] + ["cpu.dashboards_cores", "cpu.system_busy_cores",
                                              "latency_ok_ms.p99"]


def fmt(value: Any, spec: str) -> str:
    if value is None:
        return "-"
    try:
        return spec.format(value)
    except (ValueError, TypeError):
        return str(value)


def one_line(run: dict[str, Any]) -> str:
    ok = "verified" if run["verification"]["ok"] else "VERIFICATION FAILED"
    parts = [f"{title}={fmt(dig(run, path), spec)}" for title, path, spec in COLUMNS]
    errors = run.get("errors") or {}
    return "   " + " ".join(parts) + f" errors={errors or 0} {ok}"


def medians(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        groups[(r["config"]["doors"], r["config"]["dashboards"])].append(r)
    out = []
    for (doors, dashboards), rs in sorted(groups.items()):
        m: dict[str, Any] = {"config": {"doors": doors, "dashboards": dashboards},
                             "runs": len(rs),
                             "verified": all(r["verification"]["ok"] for r in rs)}
        for path in MEDIAN_PATHS:
            value = median_of(dig(r, path) for r in rs)
            cur = m
            parts = path.split(".")
            for part in parts[:-1]:
                cur = cur.setdefault(part, {})
            cur[parts[-1]] = value
        out.append(m)
    return out


def _render(rows: list[dict[str, Any]], extra: list[str]) -> str:
    head = [c[0] for c in COLUMNS] + ["verified"]
    body = []
    for r, e in zip(rows, extra, strict=True):
        body.append([fmt(dig(r, path), spec) for _, path, spec in COLUMNS] + [e])
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(head)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(lines)


def table(doc: dict[str, Any]) -> str:
    runs = doc["runs"]
    out = ["", "Door rush, every run:", _render(
        runs, ["yes" if r["verification"]["ok"] else "NO" for r in runs])]
    if any(m["runs"] > 1 for m in doc["medians"]):
        out += ["", "Medians:", _render(
            doc["medians"], [f"{'yes' if m['verified'] else 'NO'} ({m['runs']})"
                             for m in doc["medians"]])]
    errors: dict[str, int] = {}
    for r in runs:
        for k, v in (r.get("errors") or {}).items():
            errors[k] = errors.get(k, 0) + v
    out += ["", "Errors by kind (all runs): " + (", ".join(f"{k}: {v}"
                                                         for k, v in errors.items()) or "none")]
    return "\n".join(out)


def markdown_table(rows: list[dict[str, Any]], extra_title: str = "verified",
                   extra: list[str] | None = None) -> str:
    head = [c[0] for c in COLUMNS] + [extra_title]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for i, r in enumerate(rows):
        cells = [fmt(dig(r, path), spec) for _, path, spec in COLUMNS]
        cells.append(extra[i] if extra else ("yes" if r.get("verified") else "NO"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def idle_table(doc: dict[str, Any]) -> str:
    return (
        f"\nIdle dashboards: {doc['connected']} of {doc['config']['connections']} connected in "
        f"{doc['connect_s']} s\n"
        f"hub memory (RSS, all processes): {doc['hub_rss_before_mb']} MB before, "
        f"{doc['hub_rss_mb']} MB with the connections ({doc['hub_rss_processes_mb']})\n"
        f"hub memory (PSS, shared pages split): {doc['hub_pss_before_mb']} MB before, "
        f"{doc['hub_pss_mb']} MB with the connections\n"
        f"per idle connection: {doc['per_connection_kb']} KB"
    )


def _nice(top: float) -> float:
    """A round axis maximum at or above ``top`` (1, 2 or 5 times a power of ten)."""
    import math

    if top <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(top))
    for m in (1, 2, 5, 10):
        if m * exp >= top:
            return float(m * exp)
    return float(10 * exp)


def chart_svg(points: list[dict[str, Any]], title: str) -> str:
    """Check-ins/s (with 25% of the ceiling, the target) and p99 latency against doors."""
    w, h = 760, 470
    left, right, top, bottom = 70, 70, 46, 130
    pw, ph = w - left - right, h - top - bottom
    pts = sorted(points, key=lambda p: p["doors"])
    n = len(pts)

    def x(i: int) -> float:
        return left + (pw * (i + 0.5) / n if n else 0)

    tmax = _nice(max([p.get("per_s") or 0 for p in pts] +
                     [0.25 * (p.get("ceiling") or 0) for p in pts] + [1]) * 1.1)
    lmax = _nice(max([p.get("p99") or 0 for p in pts] + [100]) * 1.1)

    def yt(v: float) -> float:
        return top + ph * (1 - v / tmax)

    def yl(v: float) -> float:
        return top + ph * (1 - v / lmax)

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
         f'viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">',
         '<rect width="100%" height="100%" fill="white"/>',
         f'<text x="{w / 2}" y="24" text-anchor="middle" font-size="15">{escape(title)}</text>',
         f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#333"/>',
         f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#1f6fb2"/>',
         f'<line x1="{left + pw}" y1="{top}" x2="{left + pw}" y2="{top + ph}" '
         f'stroke="#c0392b"/>']
    for k in range(6):
        tv, lv = tmax * k / 5, lmax * k / 5
        yy = top + ph * (1 - k / 5)
        s.append(f'<line x1="{left}" y1="{yy}" x2="{left + pw}" y2="{yy}" stroke="#eee"/>')
        s.append(f'<text x="{left - 6}" y="{yy + 4}" text-anchor="end" fill="#1f6fb2">'
                 f'{tv:,.0f}</text>')
        s.append(f'<text x="{left + pw + 6}" y="{yy + 4}" fill="#c0392b">{lv:,.0f}</text>')
    for i, p in enumerate(pts):
        s.append(f'<text x="{x(i)}" y="{top + ph + 18}" text-anchor="middle">{p["doors"]}</text>')
    for i, p in enumerate(pts):  # the check-in rate under each door count: readable at any scale
        if p.get("per_s") is not None:
            s.append(f'<text x="{x(i)}" y="{top + ph + 33}" text-anchor="middle" fill="#1f6fb2" '
                     f'font-size="11">{p["per_s"]:,.0f}/s</text>')
    s.append(f'<text x="{left + pw / 2}" y="{top + ph + 52}" text-anchor="middle">'
             'concurrent doors</text>')
    s.append(f'<text transform="translate(16 {top + ph / 2}) rotate(-90)" text-anchor="middle" '
             'fill="#1f6fb2">acknowledged check-ins / s</text>')
    s.append(f'<text transform="translate({w - 14} {top + ph / 2}) rotate(90)" '
             'text-anchor="middle" fill="#c0392b">p99 latency (ms)</text>')
    s.append(f'<line x1="{left}" y1="{yl(100)}" x2="{left + pw}" y2="{yl(100)}" '
             'stroke="#c0392b" stroke-dasharray="2 4"/>')
    s.append(f'<text x="{left + pw - 4}" y="{yl(100) - 4}" text-anchor="end" fill="#c0392b" '
             'font-size="10">p99 target 100 ms</text>')

    def polyline(vals: list[float | None], yf: Any, color: str, dash: str = "",
                 label: str = "", left: bool = False) -> None:
        coords = [(x(i), yf(v), v) for i, v in enumerate(vals) if v is not None]
        if not coords:
            return
        d = " ".join(f"{a:.1f},{b:.1f}" for a, b, _ in coords)
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        s.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="2"{extra}/>')
        for a, b, v in coords:
            s.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3.5" fill="{color}"/>')
            if label:
                xx, anchor = (a - 7, "end") if left else (a, "middle")
                s.append(f'<text x="{xx:.1f}" y="{b - 7:.1f}" fill="{color}" '
                         f'text-anchor="{anchor}" font-size="10">{label.format(v)}</text>')

    polyline([0.25 * p["ceiling"] if p.get("ceiling") else None for p in pts], yt, "#7fb3e0",
             "6 4")
    polyline([p.get("p99") for p in pts], yl, "#c0392b", label="{:,.0f} ms", left=True)
    polyline([p.get("per_s") for p in pts], yt, "#1f6fb2")
    legend = [("#1f6fb2", "", "acknowledged check-ins/s (median)"),
              ("#7fb3e0", "6 4", "target: 25% of the empty-endpoint ceiling, same run"),
              ("#c0392b", "", "p99 latency of the doors, ms (right axis)")]
    for k, (color, dash, label) in enumerate(legend):
        yy = top + ph + 74 + 16 * k
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        s.append(f'<line x1="{left + 8}" y1="{yy - 4}" x2="{left + 36}" y2="{yy - 4}" '
                 f'stroke="{color}" stroke-width="2"{extra}/>')
        s.append(f'<text x="{left + 42}" y="{yy}">{escape(label)}</text>')
    s.append("</svg>")
    return "\n".join(s)


# -- the suite: docs/benchmarks.md --------------------------------------------------------------

START = "<!-- doorrush:figures:start -->"
END = "<!-- doorrush:figures:end -->"


def idle_median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("connected", "connect_s", "hub_rss_before_mb", "hub_rss_mb", "hub_pss_before_mb",
            "hub_pss_mb", "per_connection_kb")
    return {k: median_of(r.get(k) for r in runs) for k in keys} | {"runs": len(runs)}


def chart_points(meds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"doors": m["config"]["doors"], "per_s": dig(m, "checkins.per_s"),
             "ceiling": dig(m, "ceiling.per_s"), "p99": dig(m, "latency_ms.p99")}
            for m in meds]


def _yes(ok: bool | None) -> str:
    return "—" if ok is None else ("**yes**" if ok else "**no**")


def _n(v: Any, spec: str = "{:,.0f}") -> str:
    return fmt(v, spec)


def targets(doc: dict[str, Any]) -> list[tuple[str, str, bool | str | None]]:
    fan = {m["config"]["dashboards"]: m for m in doc["fanout"]["medians"]}
    ref = fan.get(1000)
    runs = doc["sweep"]["runs"] + doc["fanout"]["runs"]
    failed = sum(1 for r in runs if not r["verification"]["ok"])
    idle = doc["idle"]["median"]
    out: list[tuple[str, str, bool | str | None]] = []
    if ref is not None:
        ratio, rate, ceil = dig(ref, "ratio"), dig(ref, "checkins.per_s"), dig(ref, "ceiling.per_s")
        out.append(("durable check-ins ≥ 25% of the empty-endpoint ceiling "
                    f"({ref['config']['doors']} doors, 1,000 dashboards)",
                    f"{fmt(ratio, '{:.1%}')} ({_n(rate)}/s of {_n(ceil)}/s)",
                    None if ratio is None else ratio >= 0.25))
        p99 = dig(ref, "latency_ms.p99")
        out.append(("check-in p99 ≤ 100 ms (same rush)", f"{fmt(p99, '{:.0f}')} ms",
                    None if p99 is None else p99 <= 100))
        lag = dig(ref, "push.lag_ms.p99")
        out.append(("push lag p99 ≤ 150 ms with 1,000 dashboards during the rush",
                    f"{fmt(lag, '{:.0f}')} ms", None if lag is None else lag <= 150))
    out.append(("zero verification failures", f"{failed} of {len(runs)} runs failed",
                failed == 0))
    rss, pss = idle.get("hub_rss_mb"), idle.get("hub_pss_mb")
    conn = doc["idle"]["runs"][0]["config"]["connections"] if doc["idle"]["runs"] else 0
    verdict: bool | str | None = None if rss is None else rss <= 600
    if rss is not None and pss is not None and (rss <= 600) != (pss <= 600):
        verdict = (f"{_yes(rss <= 600)} counting RSS (shared pages once per process); "
                   f"{_yes(pss <= 600)} counting PSS (shared pages split)")
    out.append((f"{conn:,} idle dashboards in ≤ 600 MB of hub memory (all hub processes)",
                f"{fmt(rss, '{:.0f}')} MB RSS ({fmt(pss, '{:.0f}')} MB PSS), "
                f"{fmt(idle.get('per_connection_kb'), '{:.1f}')} KB a connection",
                verdict))
    return out


def suite_markdown(doc: dict[str, Any], svg_name: str) -> str:
    m, c = doc["machine"], doc["config"]
    lines = [
        START,
        f"_Generated by `{doc['command']}` from {doc['started']} to {doc['finished']}: "
        f"{m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, Linux {m['kernel']}, Python "
        f"{m['python']}, {m['wrk'] or 'no wrk'}; {c['db']}, {c['broker']} broker, "
        f"{c['workers']} workers, {c['generator']} doors, {c['duration_s']:g} s a run, "
        f"median of {c['repeat']}._",
        "",
        "### Targets",
        "",
        "| target | figure (median) | met |",
        "|---|---|---|",
    ]
    lines += [f"| {t} | {f} | {ok if isinstance(ok, str) else _yes(ok)} |"
              for t, f, ok in targets(doc)]
    lines += ["", "### Door sweep (no dashboards): throughput and latency against doors", "",
              f"![check-ins/s and p99 against doors]({svg_name})", "",
              markdown_table(doc["sweep"]["medians"], "verified",
                             [f"{'yes' if x['verified'] else 'NO'} ({x['runs']})"
                              for x in doc["sweep"]["medians"]]),
              "", f"### Fan-out during the rush ({c['rush_doors']} doors)", "",
              "| dashboards | check-ins/s | p99 ms | deliveries/s | push lag p50 ms | "
              "push lag p99 ms | push lag max ms | events missed (max per dashboard) | "
              "dashboards cpu | verified |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for f in doc["fanout"]["medians"]:
        lines.append(
            f"| {f['config']['dashboards']:,} | {_n(dig(f, 'checkins.per_s'))} | "
            f"{fmt(dig(f, 'latency_ms.p99'), '{:.0f}')} | "
            f"{_n(dig(f, 'push.deliveries_per_s'))} | {_n(dig(f, 'push.lag_ms.p50'))} | "
            f"{_n(dig(f, 'push.lag_ms.p99'))} | {_n(dig(f, 'push.lag_ms.max'))} | "
            f"{_n(dig(f, 'push.missed_per_dashboard.max'))} | "
            f"{fmt(dig(f, 'cpu.dashboards_cores'), '{:.2f}')} | "
            f"{'yes' if f['verified'] else 'NO'} ({f['runs']}) |")
    idle = doc["idle"]["median"]
    lines += ["", "### Idle dashboard connections", "",
              "| connections | connected | hub RSS before | hub RSS with them | hub PSS with "
              "them | per connection |", "|---:|---:|---:|---:|---:|---:|"]
    for r in doc["idle"]["runs"]:
        lines.append(f"| {r['config']['connections']:,} | {r['connected']:,} | "
                     f"{r['hub_rss_before_mb']} MB | {r['hub_rss_mb']} MB | {r['hub_pss_mb']} MB"
                     f" | {r['per_connection_kb']} KB |")
    lines.append(f"| median |  |  | {fmt(idle.get('hub_rss_mb'), '{:.1f}')} MB | "
                 f"{fmt(idle.get('hub_pss_mb'), '{:.1f}')} MB | "
                 f"{fmt(idle.get('per_connection_kb'), '{:.1f}')} KB |")
    lines += ["", "### Every run", "",
              "| run | check-ins/s | ceiling/s | ratio | p50 | p99 | max | lag p99 | "
              "generator cpu | hub cpu | whole machine busy | load before | verified |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in doc["sweep"]["runs"] + doc["fanout"]["runs"]:
        lines.append(
            f"| {r['label']} | {_n(dig(r, 'checkins.per_s'))} | {_n(dig(r, 'ceiling.per_s'))} | "
            f"{fmt(dig(r, 'ratio'), '{:.1%}')} | {fmt(dig(r, 'latency_ms.p50'), '{:.1f}')} | "
            f"{fmt(dig(r, 'latency_ms.p99'), '{:.0f}')} | {fmt(dig(r, 'latency_ms.max'), '{:.0f}')}"
            f" | {fmt(dig(r, 'push.lag_ms.p99'), '{:.0f}')} | "
            f"{fmt(dig(r, 'cpu.generator_cores'), '{:.2f}')} | "
            f"{fmt(dig(r, 'cpu.hub_cores'), '{:.2f}')} | "
            f"{fmt(dig(r, 'cpu.system_busy_cores'), '{:.2f}')} | "
            f"{' '.join(str(x) for x in r.get('loadavg_before', []))} | "
            f"{'yes' if r['verification']['ok'] else 'NO'} |")
    errors: dict[str, int] = {}
    for r in doc["sweep"]["runs"] + doc["fanout"]["runs"]:
        for k, v in (r.get("errors") or {}).items():
            errors[k] = errors.get(k, 0) + v
    lines += ["", "Errors by kind, all runs: " + (", ".join(f"{k}: {v:,}"
                                                         for k, v in errors.items()) or "none")
              + ".", END]
    return "\n".join(lines)


def replace_section(md: Any, section: str) -> None:
    """Put ``section`` between the markers of ``md`` (a Path), or append it."""
    text = md.read_text() if md.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + section + tail
    else:
        text = text + ("\n" if text and not text.endswith("\n") else "") + section + "\n"
    md.write_text(text)
