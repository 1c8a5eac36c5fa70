"""Tables, medians and the chart (a hand-written SVG: no plotting library, no internet)."""

from __future__ import annotations

from collections import Counter, defaultdict
from html import escape
from typing import Any

from loadtests.stats import dig, median_of

# (column title, path in a run's result, format)
COLUMNS: list[tuple[str, str, str]] = [
    ("doors", "config.doors", "{:.0f}"),
    ("dash", "config.dashboards", "{:.0f}"),
    ("thr", "config.door_threads", "{:.0f}"),
    ("checkins/s", "checkins.per_s", "{:.0f}"),
    ("ceiling/s", "ceiling.per_s", "{:.0f}"),
    ("c.thr", "ceiling.threads", "{:.0f}"),
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
    ("hub ms/ci", "cpu.hub_ms_per_checkin", "{:.3f}"),
    ("pg ms/ci", "cpu.postgres_ms_per_checkin", "{:.3f}"),
    ("hub us/ev", "cpu.hub_us_per_event", "{:.1f}"),
    ("gen cpu", "cpu.generator_cores", "{:.2f}"),
    ("hub cpu", "cpu.hub_cores", "{:.2f}"),
    ("other", "machine.other_cores", "{:.2f}"),
    ("steal", "machine.steal_cores", "{:.2f}"),
]
MEDIAN_PATHS = [c[1] for c in COLUMNS[3:] if c[1] != "ceiling.threads"] + [
    "cpu.dashboards_cores", "cpu.system_busy_cores", "cpu.postgres_cores", "cpu.redis_cores",
    "cpu.redis_ms_per_checkin", "machine.kernel_cores", "latency_ok_ms.p99"]


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
    groups: dict[tuple[int, int, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        c = r["config"]
        groups[(c["doors"], c["dashboards"], str(c.get("door_threads_asked") or ""),
                str(c.get("pin") or ""))].append(r)
    out = []
    for (doors, dashboards, asked, pin), rs in sorted(groups.items()):
        config: dict[str, Any] = {"doors": doors, "dashboards": dashboards}
        if asked:
            config["door_threads_asked"] = asked
        if pin:
            config["pin"] = pin
        threads = {r["config"].get("door_threads") for r in rs}
        if len(threads) == 1:
            config["door_threads"] = threads.pop()
        m: dict[str, Any] = {"config": config,
                             "runs": len(rs),
                             "verified": all(r["verification"]["ok"] for r in rs)}
        for path in MEDIAN_PATHS:
            value = median_of(dig(r, path) for r in rs)
            cur = m
            parts = path.split(".")
            for part in parts[:-1]:
                cur = cur.setdefault(part, {})
            cur[parts[-1]] = value
        ceiling_threads = Counter(dig(r, "ceiling.threads") for r in rs
                                  if dig(r, "ceiling.threads") is not None)
        top = ceiling_threads.most_common(2)
        if top and (len(top) == 1 or top[0][1] > top[1][1]):  # won most often, if one did
            m.setdefault("ceiling", {})["threads"] = top[0][0]
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
    sweep = {m["config"]["doors"]: m for m in doc["sweep"]["medians"]}
    base = sweep.get(doc["config"].get("rush_doors", 32))
    if base is not None:
        out.append((f"hub CPU per durable check-in ({base['config']['doors']} doors, no "
                     "dashboards; PostgreSQL's beside it)",
                     f"{fmt(dig(base, 'cpu.hub_ms_per_checkin'), '{:.3f}')} ms (PostgreSQL "
                     f"{fmt(dig(base, 'cpu.postgres_ms_per_checkin'), '{:.3f}')} ms)", None))
        if ref is not None and dig(base, "checkins.per_s") and dig(ref, "checkins.per_s"):
            kept = dig(ref, "checkins.per_s") / dig(base, "checkins.per_s")
            out.append(("the door's rate with 1,000 dashboards against its rate without",
                        f"{kept:.0%} (hub {fmt(dig(ref, 'cpu.hub_us_per_event'), '{:.1f}')} µs "
                        "of CPU per delivered event)", None))
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


def _load(r: dict[str, Any]) -> str:
    m = r.get("machine") or {}
    a, b = m.get("loadavg_start"), m.get("loadavg_end")
    if a and b:
        return f"{a[0]:.2f} → {b[0]:.2f}"
    return " ".join(str(x) for x in r.get("loadavg_before", []))


def _others(r: dict[str, Any]) -> str:
    top = dig(r, "machine.other_top") or []
    return ", ".join(f"{t['name']} {t['cores']:.2f}" for t in top[:3]) or "—"


def _ceiling_cfg(r: dict[str, Any]) -> str:
    c = r.get("ceiling") or {}
    if not c.get("threads"):
        return "—"
    tried = " / ".join(f"{t['threads']}t {_n(t.get('per_s'))}" for t in c.get("tried", []))
    return f"{c['threads']} of [{tried}]"


def machine_line(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    return (f"{m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, Linux {m['kernel']}, Python "
            f"{m['python']}, {m['wrk'] or 'no wrk'}")


def setup_line(doc: dict[str, Any]) -> str:
    st = doc.get("setup") or {}
    if not st:
        return ""
    asked = st.get("door_threads")
    doors = {"same": "doors on the ceiling's fastest number of wrk threads",
             "door": "doors on one wrk thread each"}.get(str(asked),
                                                          f"doors on {asked} wrk threads")
    tried = st.get("ceiling_threads")
    tried = ("one wrk thread a door, one a core, 2 and 1" if tried == "auto"
             else f"{tried} wrk threads")
    return (f"{doors}; the ceiling tries {tried} over the same connections, "
            f"{st.get('ceiling_seconds_each'):g} s each, and keeps the fastest; pinning "
            f"{st.get('pin')} (auto: dashboards and generator off the hub's CPU when there are "
            "dashboards)")


def runs_markdown(runs: list[dict[str, Any]]) -> str:
    """Every run: the figures, the steady CPU figures and what the machine was doing."""
    lines = ["| run | door threads | check-ins/s | ceiling/s (threads of [tried]) | ratio | p50 | "
             "p99 | lag p99 "
             "| hub ms/check-in | PostgreSQL ms/check-in | Redis cores | hub µs/event | hub "
             "cores | generator cores | dashboards cores | pin | load 1 min (start → end) | "
             "steal cores | other processes' cores (top) | verified |",
             "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
             "---:|---|---|"]
    for r in runs:
        lines.append(
            f"| {r['label']} | {fmt(dig(r, 'config.door_threads'), '{:.0f}')} | "
            f"{_n(dig(r, 'checkins.per_s'))} | {_n(dig(r, 'ceiling.per_s'))} "
            f"({_ceiling_cfg(r)}) | {fmt(dig(r, 'ratio'), '{:.1%}')} | "
            f"{fmt(dig(r, 'latency_ms.p50'), '{:.1f}')} | "
            f"{fmt(dig(r, 'latency_ms.p99'), '{:.0f}')} | "
            f"{fmt(dig(r, 'push.lag_ms.p99'), '{:.0f}')} | "
            f"{fmt(dig(r, 'cpu.hub_ms_per_checkin'), '{:.3f}')} | "
            f"{fmt(dig(r, 'cpu.postgres_ms_per_checkin'), '{:.3f}')} | "
            f"{fmt(dig(r, 'cpu.redis_cores'), '{:.2f}')} | "
            f"{fmt(dig(r, 'cpu.hub_us_per_event'), '{:.1f}')} | "
            f"{fmt(dig(r, 'cpu.hub_cores'), '{:.2f}')} | "
            f"{fmt(dig(r, 'cpu.generator_cores'), '{:.2f}')} | "
            f"{fmt(dig(r, 'cpu.dashboards_cores'), '{:.2f}')} | "
            f"{dig(r, 'config.pin') or '—'} | {_load(r)} | "
            f"{fmt(dig(r, 'machine.steal_cores'), '{:.2f}')} | "
            f"{fmt(dig(r, 'machine.other_cores'), '{:.2f}')} ({_others(r)}) | "
            f"{'yes' if r['verification']['ok'] else 'NO'} |")
    return "\n".join(lines)


def medians_markdown(meds: list[dict[str, Any]]) -> str:
    """The medians of each point, with the steady figures."""
    lines = ["| doors | dashboards | door threads | pin | check-ins/s | ceiling/s | ratio | "
             "p50 ms | p99 ms | push lag p50 | push lag p99 | hub ms/check-in | "
             "PostgreSQL ms/check-in | hub µs/event | other cores | steal cores | "
             "verified (runs) |",
             "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for m in meds:
        c = m["config"]
        lines.append(
            f"| {c['doors']} | {c['dashboards']:,} | {c.get('door_threads', '—')} | "
            f"{c.get('pin', '—')} | "
            f"{_n(dig(m, 'checkins.per_s'))} | {_n(dig(m, 'ceiling.per_s'))} | "
            f"{fmt(dig(m, 'ratio'), '{:.1%}')} | {fmt(dig(m, 'latency_ms.p50'), '{:.1f}')} | "
            f"{fmt(dig(m, 'latency_ms.p99'), '{:.0f}')} | "
            f"{fmt(dig(m, 'push.lag_ms.p50'), '{:.0f}')} | "
            f"{fmt(dig(m, 'push.lag_ms.p99'), '{:.0f}')} | "
            f"{fmt(dig(m, 'cpu.hub_ms_per_checkin'), '{:.3f}')} | "
            f"{fmt(dig(m, 'cpu.postgres_ms_per_checkin'), '{:.3f}')} | "
            f"{fmt(dig(m, 'cpu.hub_us_per_event'), '{:.1f}')} | "
            f"{fmt(dig(m, 'machine.other_cores'), '{:.2f}')} | "
            f"{fmt(dig(m, 'machine.steal_cores'), '{:.2f}')} | "
            f"{'yes' if m['verified'] else 'NO'} ({m['runs']}) |")
    return "\n".join(lines)


def rush_markdown(doc: dict[str, Any]) -> str:
    """A rush's results as Markdown (``python -m loadtests.doorrush table --json X``)."""
    return "\n".join([
        f"_`{doc['command']}`, started {doc['started']}: {machine_line(doc)}; "
        f"{setup_line(doc)}._", "",
        medians_markdown(medians(doc["runs"])), "", runs_markdown(doc["runs"])])


def suite_markdown(doc: dict[str, Any], svg_name: str) -> str:
    m, c = doc["machine"], doc["config"]
    setup = setup_line(doc)
    lines = [
        START,
        f"_Generated by `{doc['command']}` from {doc['started']} to {doc['finished']}: "
        f"{m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, Linux {m['kernel']}, Python "
        f"{m['python']}, {m['wrk'] or 'no wrk'}; {c['db']}, {c['broker']} broker, "
        f"{c['workers']} workers, {c['generator']} doors, {c['duration_s']:g} s a run, "
        f"median of {c['repeat']}{'; ' + setup if setup else ''}._",
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
              "hub µs/event | hub ms/check-in | dashboards cpu | verified |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for f in doc["fanout"]["medians"]:
        lines.append(
            f"| {f['config']['dashboards']:,} | {_n(dig(f, 'checkins.per_s'))} | "
            f"{fmt(dig(f, 'latency_ms.p99'), '{:.0f}')} | "
            f"{_n(dig(f, 'push.deliveries_per_s'))} | {_n(dig(f, 'push.lag_ms.p50'))} | "
            f"{_n(dig(f, 'push.lag_ms.p99'))} | {_n(dig(f, 'push.lag_ms.max'))} | "
            f"{_n(dig(f, 'push.missed_per_dashboard.max'))} | "
            f"{fmt(dig(f, 'cpu.hub_us_per_event'), '{:.1f}')} | "
            f"{fmt(dig(f, 'cpu.hub_ms_per_checkin'), '{:.3f}')} | "
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
    lines += ["", "### Every run, and what the machine was doing", "",
              runs_markdown(doc["sweep"]["runs"] + doc["fanout"]["runs"])]
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
