/**
 * A process renders with at most MAX_TOOL_PROCESSES `helm` processes at once, however many
 * sources a reconcile batch renders together (ten at once took the process tree past the
 * reconcile function's 512 MB in `npm run bench:fleet`). The real `helm` of the test bed
 * (`CONVERGE_HELM`), behind a wrapper that logs when each run starts and ends.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_TOOL_PROCESSES, renderSource } from "../../shared/render/source.js";

const chart = (name: string) => [
  { path: `${name}/Chart.yaml`, content: `apiVersion: v2\nname: ${name}\nversion: 0.1.0\n` },
  { path: `${name}/templates/cm.yaml`, content: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  k: v\n" },
];

test(`ten Helm renders at once run at most ${MAX_TOOL_PROCESSES} helm processes together, each rendering`, {
  skip: !process.env.CONVERGE_HELM && "needs the test bed's helm (CONVERGE_HELM)",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "render-tools-"));
  try {
    const log = join(dir, "log");
    const wrapper = join(dir, "helm");
    // one line when a run starts and one when it ends; the pause makes overlapping runs overlap for sure
    writeFileSync(wrapper, `#!/bin/sh\necho "+ $(date +%s%N)" >> ${log}\nsleep 0.3\n"${process.env.CONVERGE_HELM}" "$@"\ncode=$?\necho "- $(date +%s%N)" >> ${log}\nexit $code\n`);
    chmodSync(wrapper, 0o755);
    const env = { ...process.env, CONVERGE_HELM: wrapper };
    const names = Array.from({ length: 10 }, (_, i) => `c${i}`);
    const out = await Promise.all(names.map((n) => renderSource(chart(n), { path: n }, { namespace: "default", env })));
    assert.deepEqual(
      out.map((r) => r.objects.map((o) => o.object.metadata.name)),
      names.map((n) => [n]),
    );
    const events = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => ({ d: l.startsWith("+") ? 1 : -1, t: BigInt(l.slice(2)) }))
      .sort((a, b) => (a.t === b.t ? a.d - b.d : a.t < b.t ? -1 : 1));
    let running = 0;
    let most = 0;
    for (const e of events) {
      running += e.d;
      most = Math.max(most, running);
    }
    assert.equal(events.length, 20);
    assert.equal(most, MAX_TOOL_PROCESSES);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
