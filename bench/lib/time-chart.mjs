// Charts over time for the lab measurements (hotspot, partition): an inline
// <svg> line chart whose x axis is seconds, with vertical marks (a shift of
// the hot region, a migration, a cut, a heal) and shaded bands (the cut).
// Hand-made SVG: the pages stay self-contained and need no dependency.
//
//   timeChartSvg({ title, yLabel, yLog: true, xMax: 120,
//                  series: [{ name, colour, dash, points: [[t, y], ...] }],
//                  marks: [{ x, label, colour, dash, row }], bands: [{ from, to, colour, label }] })
//
// A mark's label goes in text row `row` (default: its index) at the top of the plot.

export const regionColours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];

const size = { width: 900, height: 340 };
const margin = { left: 64, right: 190, top: 30, bottom: 44 };
const markLabelRowsMax = 4;

export function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function yRange(series, log) {
  const values = series.flatMap((line) => line.points.map(([, y]) => y)).filter((y) => Number.isFinite(y) && (!log || y > 0));
  if (values.length === 0) return { low: log ? 1 : 0, high: log ? 10 : 1 };
  const high = Math.max(...values);
  if (!log) return { low: 0, high: high > 0 ? niceCeiling(high * 1.05) : 1 };
  const low = Math.min(...values);
  return { low: Math.pow(10, Math.floor(Math.log10(low))), high: Math.pow(10, Math.ceil(Math.log10(high * 1.0001))) };
}

/** The smallest of 1, 2, 2.5, 4, 5 or 10 times a power of ten at or above value: round tick labels. */
function niceCeiling(value) {
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  const factor = [1, 2, 2.5, 4, 5, 10].find((candidate) => candidate * power >= value) ?? 10;
  return factor * power;
}

function xTicks(xMax) {
  const steps = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300];
  const step = steps.find((candidate) => xMax / candidate <= 12) ?? Math.ceil(xMax / 12);
  const ticks = [];
  for (let value = 0; value <= xMax + 1e-9; value += step) ticks.push(value);
  return ticks;
}

/**
 * A line chart over time. A series' points with a null y break its line
 * (no data that second). Marks are vertical lines labelled at the top,
 * bands shaded spans of x.
 */
export function timeChartSvg({ title, xLabel = "seconds", yLabel, yLog = false, xMax, series, marks = [], bands = [] }) {
  const plotWidth = size.width - margin.left - margin.right;
  const plotHeight = size.height - margin.top - margin.bottom;
  const top = Math.max(1, xMax);
  const { low, high } = yRange(series, yLog);
  const xPosition = (x) => margin.left + (plotWidth * Math.min(Math.max(x, 0), top)) / top;
  const yPosition = (y) => {
    const fraction = yLog ? (Math.log10(Math.max(y, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low)) : (y - low) / (high - low);
    return margin.top + plotHeight * (1 - Math.min(1, Math.max(0, fraction)));
  };
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}" viewBox="0 0 ${size.width} ${size.height}" font-family="sans-serif" font-size="11">`,
    `<text x="${margin.left}" y="18" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (const band of bands) {
    const x1 = xPosition(band.from);
    const x2 = xPosition(band.to);
    parts.push(`<rect x="${x1.toFixed(1)}" y="${margin.top}" width="${Math.max(0, x2 - x1).toFixed(1)}" height="${plotHeight}" fill="${band.colour ?? "#f3e0e0"}"/>`);
    if (band.label !== undefined) parts.push(`<text x="${((x1 + x2) / 2).toFixed(1)}" y="${margin.top + plotHeight - 6}" text-anchor="middle" fill="#a33">${escapeXml(band.label)}</text>`);
  }
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`);
  const yTickValues = [];
  if (yLog) for (let tick = low; tick <= high * 1.0001; tick *= 10) yTickValues.push(tick);
  else for (let index = 0; index <= 4; index += 1) yTickValues.push(low + ((high - low) * index) / 4);
  for (const tick of yTickValues) {
    const y = yPosition(tick).toFixed(1);
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${margin.left - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(String(Number(tick.toPrecision(3))))}</text>`);
  }
  for (const tick of xTicks(top)) {
    const x = xPosition(tick).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight + 4}" stroke="#999"/>`);
    parts.push(`<text x="${x}" y="${margin.top + plotHeight + 16}" text-anchor="middle">${tick}</text>`);
  }
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${size.height - 6}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  parts.push(`<text x="12" y="${margin.top + plotHeight / 2}" transform="rotate(-90 12 ${margin.top + plotHeight / 2})" text-anchor="middle">${escapeXml(yLabel)}</text>`);
  marks.forEach((mark, index) => {
    const x = xPosition(mark.x).toFixed(1);
    const colour = mark.colour ?? "#555";
    parts.push(`<line x1="${x}" x2="${x}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="${colour}" stroke-width="1.2"${mark.dash ? ` stroke-dasharray="${mark.dash}"` : ""}/>`);
    if (mark.label !== undefined) {
      const labelY = margin.top + 10 + 11 * ((mark.row ?? index) % markLabelRowsMax);
      parts.push(`<text x="${(Number(x) + 3).toFixed(1)}" y="${labelY}" fill="${colour}" font-size="10">${escapeXml(mark.label)}</text>`);
    }
  });
  series.forEach((line, index) => {
    const colour = line.colour ?? regionColours[index % regionColours.length];
    for (const run of unbrokenRuns(line.points)) {
      const points = run.map(([x, y]) => `${xPosition(x).toFixed(1)},${yPosition(y).toFixed(1)}`).join(" ");
      if (run.length === 1) {
        const [x, y] = run[0];
        parts.push(`<circle cx="${xPosition(x).toFixed(1)}" cy="${yPosition(y).toFixed(1)}" r="1.6" fill="${colour}"/>`);
      } else {
        parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.4"${line.dash ? ` stroke-dasharray="${line.dash}"` : ""} points="${points}"/>`);
      }
    }
    const legendY = margin.top + 14 * index + 8;
    const legendX = size.width - margin.right + 10;
    parts.push(`<line x1="${legendX}" x2="${legendX + 18}" y1="${legendY}" y2="${legendY}" stroke="${colour}" stroke-width="2"${line.dash ? ` stroke-dasharray="${line.dash}"` : ""}/>`);
    parts.push(`<text x="${legendX + 22}" y="${legendY}" dominant-baseline="middle">${escapeXml(line.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** Splits points at null y values: each run is drawn as one line. */
function unbrokenRuns(points) {
  const runs = [];
  let current = [];
  for (const point of points) {
    if (point[1] === null || !Number.isFinite(point[1])) {
      if (current.length > 0) runs.push(current);
      current = [];
    } else {
      current.push(point);
    }
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

/** A self-contained page: a title, a preformatted block or paragraphs, and sections of charts. */
export function chartPage({ title, intro = [], sections }) {
  return [
    "<!DOCTYPE html>",
    `<html><head><meta charset="utf-8"><title>${escapeXml(title)}</title>`,
    "<style>body{font-family:sans-serif;margin:2em;max-width:1000px}pre{background:#f6f6f6;padding:1em;overflow:auto}svg{margin:0.5em 0}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style></head><body>",
    `<h1>${escapeXml(title)}</h1>`,
    ...intro.map((paragraph) => (paragraph.startsWith("<") ? paragraph : `<p>${escapeXml(paragraph)}</p>`)),
    ...sections.flatMap((section) => [`<h2>${escapeXml(section.heading)}</h2>`, ...(section.text ?? []).map((line) => `<p>${escapeXml(line)}</p>`), ...section.charts]),
    "</body></html>",
    "",
  ].join("\n");
}
