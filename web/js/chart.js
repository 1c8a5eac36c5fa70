// Two small hand-drawn SVG charts: people in the room over time, and check-ins per minute.
const NS = "http://www.w3.org/2000/svg";

function node(tag, attrs = {}, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

function frame(svg) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const w = svg.clientWidth || 600;
  const h = svg.clientHeight || 180;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  return { w, h, left: 38, right: 8, top: 10, bottom: 22 };
}

const hhmm = (t) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/** points: [{t: ms, v: number}] ascending. Draws a step line. */
export function drawLine(svg, points, label) {
  const f = frame(svg);
  svg.append(node("title", {}, label));
  const now = Date.now();
  const t0 = Math.min(points.length ? points[0].t : now, now - 600000); // at least 10 minutes
  const t1 = now;
  const vmax = Math.max(1, ...points.map((p) => p.v));
  const x = (t) => f.left + ((t - t0) / Math.max(1, t1 - t0)) * (f.w - f.left - f.right);
  const y = (v) => f.h - f.bottom - (v / vmax) * (f.h - f.top - f.bottom);
  svg.append(node("line", { class: "axis", x1: f.left, y1: f.h - f.bottom, x2: f.w - f.right, y2: f.h - f.bottom }));
  svg.append(node("line", { class: "axis", x1: f.left, y1: f.top, x2: f.left, y2: f.h - f.bottom }));
  svg.append(node("text", { x: 4, y: f.top + 10 }, String(vmax)));
  svg.append(node("text", { x: 4, y: f.h - f.bottom }, "0"));
  svg.append(node("text", { x: f.left, y: f.h - 4 }, hhmm(t0)));
  svg.append(node("text", { x: f.w - f.right, y: f.h - 4, "text-anchor": "end" }, hhmm(t1)));
  if (!points.length) return;
  let d = `M ${x(points[0].t).toFixed(1)} ${y(points[0].v).toFixed(1)}`;
  let last = points[0];
  for (const p of points.slice(1)) {
    d += ` H ${x(p.t).toFixed(1)} V ${y(p.v).toFixed(1)}`;
    last = p;
  }
  d += ` H ${x(now).toFixed(1)}`;
  svg.append(node("path", { class: "line", d }));
  svg.dataset.last = String(last.v);
}

/** counts: Map(minuteStartMs -> n). Draws the last `minutes` minutes as bars. */
export function drawBars(svg, counts, label, minutes = 30) {
  const f = frame(svg);
  svg.append(node("title", {}, label));
  const end = Math.floor(Date.now() / 60000) * 60000;
  const start = end - (minutes - 1) * 60000;
  let vmax = 1;
  for (let t = start; t <= end; t += 60000) vmax = Math.max(vmax, counts.get(t) || 0);
  const bw = (f.w - f.left - f.right) / minutes;
  svg.append(node("line", { class: "axis", x1: f.left, y1: f.h - f.bottom, x2: f.w - f.right, y2: f.h - f.bottom }));
  svg.append(node("text", { x: 4, y: f.top + 10 }, String(vmax)));
  svg.append(node("text", { x: 4, y: f.h - f.bottom }, "0"));
  svg.append(node("text", { x: f.left, y: f.h - 4 }, hhmm(start)));
  svg.append(node("text", { x: f.w - f.right, y: f.h - 4, "text-anchor": "end" }, hhmm(end)));
  let i = 0;
  for (let t = start; t <= end; t += 60000, i++) {
    const n = counts.get(t) || 0;
    if (!n) continue;
    const bh = (n / vmax) * (f.h - f.top - f.bottom);
    const bar = node("rect", { class: "bar", x: (f.left + i * bw + 1).toFixed(1), y: (f.h - f.bottom - bh).toFixed(1),
      width: Math.max(1, bw - 2).toFixed(1), height: bh.toFixed(1) });
    bar.append(node("title", {}, `${hhmm(t)}: ${n}`));
    svg.append(bar);
  }
}
