/**
 * The fleet chart: clusters OutOfSync, Error and Unknown over time, drawn with uPlot (stepped
 * lines: a count holds until the next change; uPlot's stylesheet is in main.tsx's CSS, since
 * this module is loaded on demand). Colours come from the page's CSS variables, so
 * the chart follows light and dark mode; it is redrawn at the container's width.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import type { FleetSeries } from "./api.js";

const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/** The chart of `series`; the table next to it (screen readers, keyboard) is `SeriesSummary`. */
export function FleetChart({ series }: { series: FleetSeries }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const data: uPlot.AlignedData = [series.t.map((t) => t / 1000), series.outOfSync, series.error, series.unknown];

  useEffect(() => {
    const el = box.current!;
    const make = () => {
      plot.current?.destroy();
      const stepped = uPlot.paths.stepped!({ align: 1 });
      const line = (label: string, color: string) => ({
        label,
        stroke: color,
        width: 2,
        paths: stepped,
        points: { show: false },
        value: (_: uPlot, v: number | null) => (v == null ? "-" : String(v)),
      });
      const axis = { stroke: css("--muted"), grid: { stroke: css("--grid"), width: 1 }, ticks: { stroke: css("--grid"), width: 1 } };
      plot.current = new uPlot(
        {
          width: Math.max(280, el.clientWidth),
          height: 180,
          series: [{}, line("OutOfSync", css("--oos")), line("Error", css("--err")), line("Unknown", css("--unk"))],
          axes: [axis, { ...axis, size: 40, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] }],
          scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
          legend: { live: true },
          cursor: { drag: { x: false, y: false } },
        },
        data,
        el,
      );
    };
    make();
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(280, el.clientWidth), height: 180 }));
    resize.observe(el);
    const scheme = matchMedia("(prefers-color-scheme: dark)");
    scheme.addEventListener("change", make);
    return () => {
      resize.disconnect();
      scheme.removeEventListener("change", make);
      plot.current?.destroy();
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return (
    <div
      ref={box}
      class="chart"
      role="img"
      aria-label={`clusters OutOfSync, Error and Unknown over time; now ${series.outOfSync.at(-1)} OutOfSync, ${series.error.at(-1)} Error, ${series.unknown.at(-1)} Unknown`}
    />
  );
}
