// The session's timeline: one row per event type (bars for lasting events, dots for instant
// ones, coloured by severity), the microphone level and the number of faces on camera below it,
// all on one time axis from the start to the end (or deadline). Chart.js (static/vendor/chartjs,
// loaded as a classic script) draws it; its stacked scales keep the three bands aligned.

import { SEVERITIES, SEVERITY_COLOURS, formatLength, formatOffset, severityLabel, typeLabel } from "./format.js";

const ROW_PX = 26;
const AUDIO_BAND_PX = 90;
const FACES_BAND_PX = 80;
const AXIS_PX = 64;
// x-axis tick spacing: the first of these giving at most MAX_TICKS ticks.
const TICK_STEPS = [60, 120, 300, 600, 900, 1200, 1800, 3600, 7200];
const MAX_TICKS = 12;
// Samples come every 10 s (and on every face-count change); a longer silence is a gap in the
// stream, drawn as a break in the line rather than a made-up straight segment.
const GAP_SECONDS = 45;
const AUDIO_FLOOR_DBFS = -100;

function seconds(iso, startMs) {
  return (Date.parse(iso) - startMs) / 1000;
}

function withGaps(points) {
  const out = [];
  for (const point of points) {
    const previous = out[out.length - 1];
    if (previous && point.x - previous.x > GAP_SECONDS) out.push({ x: previous.x + 10, y: null });
    out.push(point);
  }
  return out;
}

// Draws a dashed "now" line while the session runs.
const nowLine = {
  id: "nowLine",
  afterDatasetsDraw(chart, _args, options) {
    if (options.at === null || options.at === undefined) return;
    const x = chart.scales.x.getPixelForValue(options.at);
    if (x < chart.chartArea.left || x > chart.chartArea.right) return;
    const { ctx } = chart;
    ctx.save();
    ctx.strokeStyle = "#1d4ed8";
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(x, chart.chartArea.top);
    ctx.lineTo(x, chart.chartArea.bottom);
    ctx.stroke();
    ctx.restore();
  },
};

/**
 * box: the element holding the canvas (its height is set here, from the number of rows).
 * onPick(eventId): a bar or dot was clicked.
 */
export function createTimeline({ box, canvas, startedAt, onPick }) {
  const startMs = Date.parse(startedAt);
  let chart = null;

  function build(state) {
    const { events, faces, audio, endAt, nowAt } = state;
    const types = [];
    for (const event of events) if (!types.includes(event.type)) types.push(event.type);
    const labels = types.map(typeLabel);
    const datasets = [];
    for (const severity of SEVERITIES) {
      const ofSeverity = events.filter((e) => e.severity === severity);
      const lasting = ofSeverity.filter((e) => e.durationSeconds > 0);
      const instant = ofSeverity.filter((e) => !(e.durationSeconds > 0));
      const colour = SEVERITY_COLOURS[severity];
      datasets.push({
        type: "bar",
        label: interpolate(gettext("%s (lasting)"), [severityLabel(severity)]),
        severity,
        indexAxis: "y",
        xAxisID: "x",
        yAxisID: "events",
        grouped: false,
        barThickness: 12,
        minBarLength: 3,
        borderRadius: 3,
        backgroundColor: colour,
        data: lasting.map((e) => {
          const from = seconds(e.timestamp, startMs);
          return { x: [from, from + e.durationSeconds], y: typeLabel(e.type), event: e };
        }),
      });
      datasets.push({
        type: "scatter",
        label: interpolate(gettext("%s (instant)"), [severityLabel(severity)]),
        severity,
        indexAxis: "x",
        xAxisID: "x",
        yAxisID: "events",
        pointRadius: 5,
        pointHoverRadius: 7,
        pointBackgroundColor: colour,
        pointBorderColor: "#ffffff",
        pointBorderWidth: 1.5,
        data: instant.map((e) => ({ x: seconds(e.timestamp, startMs), y: typeLabel(e.type), event: e })),
      });
    }
    const facePoints = faces.map(([at, n]) => ({ x: seconds(at, startMs), y: n }));
    // The last count holds until now (or the end): extend the step to where the data stops.
    if (facePoints.length) {
      const last = facePoints[facePoints.length - 1];
      const until = Math.min(nowAt ?? endAt, last.x + GAP_SECONDS);
      if (until > last.x) facePoints.push({ x: until, y: last.y });
    }
    datasets.push({
      type: "line",
      label: gettext("Audio level"),
      xAxisID: "x",
      yAxisID: "audio",
      borderColor: "#2563eb",
      backgroundColor: "rgba(37, 99, 235, 0.12)",
      fill: "start",
      borderWidth: 1.5,
      pointRadius: 0,
      pointHitRadius: 6,
      tension: 0.2,
      spanGaps: false,
      data: withGaps(
        audio.map(([at, db]) => ({ x: seconds(at, startMs), y: Math.max(db, AUDIO_FLOOR_DBFS) })),
      ),
    });
    datasets.push({
      type: "line",
      label: gettext("Faces on camera"),
      xAxisID: "x",
      yAxisID: "faces",
      borderColor: "#047857",
      backgroundColor: "rgba(4, 120, 87, 0.10)",
      fill: "start",
      borderWidth: 2,
      stepped: "after",
      pointRadius: 0,
      pointHitRadius: 6,
      spanGaps: false,
      data: withGaps(facePoints),
    });
    const maxFaces = Math.max(2, ...faces.map(([, n]) => n));
    return { labels, datasets, endAt, nowAt, maxFaces, rows: Math.max(types.length, 1) };
  }

  function options(built) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      parsing: true,
      interaction: { mode: "nearest", intersect: true },
      layout: { padding: { right: 8 } },
      onClick(_evt, elements) {
        const hit = elements.find((el) => chart.data.datasets[el.datasetIndex].data[el.index]?.event);
        if (hit) onPick(chart.data.datasets[hit.datasetIndex].data[hit.index].event.id);
      },
      onHover(evt, elements) {
        const overEvent = elements.some((el) => chart.data.datasets[el.datasetIndex].data[el.index]?.event);
        evt.native.target.style.cursor = overEvent ? "pointer" : "default";
      },
      plugins: {
        legend: { display: false },
        nowLine: { at: built.nowAt },
        tooltip: {
          callbacks: {
            title(items) {
              return items.length ? interpolate(gettext("+%s from start"), [formatOffset(items[0].parsed.x)]) : "";
            },
            label(item) {
              const raw = item.raw;
              if (raw.event) {
                const length = formatLength(raw.event.durationSeconds);
                return [typeLabel(raw.event.type), severityLabel(raw.event.severity), length].filter(Boolean).join(" · ");
              }
              if (item.dataset.yAxisID === "audio")
                return interpolate(gettext("Audio level %s dBFS"), [Math.round(item.parsed.y)]);
              return interpolate(ngettext("%s face on camera", "%s faces on camera", item.parsed.y), [item.parsed.y]);
            },
          },
        },
      },
      scales: {
        x: {
          type: "linear",
          min: 0,
          max: Math.max(built.endAt, 60),
          grid: { color: "#eef1f5" },
          ticks: {
            stepSize: TICK_STEPS.find((step) => built.endAt / step <= MAX_TICKS) || 7200,
            callback: (value) => formatOffset(value),
            color: "#4a5561",
          },
          title: { display: true, text: gettext("Time since the start"), color: "#4a5561" },
        },
        faces: {
          type: "linear",
          position: "left",
          stack: "timeline",
          stackWeight: FACES_BAND_PX,
          min: 0,
          max: built.maxFaces + 0.5,
          offset: true,
          grid: { color: "#eef1f5" },
          ticks: {
            stepSize: 1,
            autoSkip: false,
            includeBounds: false,
            color: "#4a5561",
            callback: (v) => (Number.isInteger(v) ? v : ""),
          },
          title: { display: true, text: gettext("Faces"), color: "#047857", font: { weight: "600" } },
          afterFit: (scale) => {
            scale.width = 150;
          },
        },
        audio: {
          type: "linear",
          position: "left",
          stack: "timeline",
          stackWeight: AUDIO_BAND_PX,
          min: AUDIO_FLOOR_DBFS,
          max: 0,
          offset: true,
          grid: { color: "#eef1f5" },
          ticks: { stepSize: 50, autoSkip: false, color: "#4a5561", callback: (v) => `${v} dB` },
          title: { display: true, text: gettext("Audio"), color: "#2563eb", font: { weight: "600" } },
          afterFit: (scale) => {
            scale.width = 150;
          },
        },
        events: {
          type: "category",
          labels: built.labels.length ? built.labels : [gettext("No events")],
          position: "left",
          stack: "timeline",
          stackWeight: built.rows * ROW_PX,
          offset: true,
          grid: { color: "#eef1f5", offset: true },
          ticks: { color: "#1b1f24", font: { size: 12 }, autoSkip: false },
          afterFit: (scale) => {
            scale.width = 150;
          },
        },
      },
    };
  }

  function render(state) {
    if (!window.Chart) {
      // The list, actions and live updates still work without the chart.
      console.error("timeline: Chart.js did not load");
      return;
    }
    const built = build(state);
    box.style.height = `${built.rows * ROW_PX + AUDIO_BAND_PX + FACES_BAND_PX + AXIS_PX}px`;
    if (!chart) {
      chart = new window.Chart(canvas, {
        type: "bar",
        data: { labels: built.labels, datasets: built.datasets },
        options: options(built),
        plugins: [nowLine],
      });
      return;
    }
    chart.data.labels = built.labels;
    chart.data.datasets = built.datasets;
    chart.options = options(built);
    chart.update("none");
  }

  return { render };
}
