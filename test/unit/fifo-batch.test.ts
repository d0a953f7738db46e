/**
 * FIFO batch processing: one cluster's messages in order and never together, clusters
 * concurrently, a cluster's later messages not run after its first failure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { processFifoBatch, type FifoRecord } from "../../shared/queue/fifo-batch.js";

const rec = (messageId: string, group: string): FifoRecord => ({ messageId, attributes: { MessageGroupId: group } });
const tick = () => new Promise((r) => setTimeout(r, 5));

test("messages of one group run one after another, in order; groups run concurrently", async () => {
  const log: string[] = [];
  let running = new Map<string, number>();
  let maxTogether = 0;
  const failed = await processFifoBatch([rec("a1", "a"), rec("b1", "b"), rec("a2", "a"), rec("b2", "b"), rec("a3", "a")], async (r) => {
    const g = r.attributes.MessageGroupId!;
    running.set(g, (running.get(g) ?? 0) + 1);
    assert.equal(running.get(g), 1, `two messages of group ${g} never run together`);
    maxTogether = Math.max(
      maxTogether,
      [...running.values()].reduce((x, y) => x + y, 0),
    );
    log.push(`start ${r.messageId}`);
    await tick();
    log.push(`end ${r.messageId}`);
    running.set(g, running.get(g)! - 1);
  });
  running = new Map();
  assert.deepEqual(failed, []);
  assert.deepEqual(
    log.filter((l) => l.includes(" a")),
    ["start a1", "end a1", "start a2", "end a2", "start a3", "end a3"],
  );
  assert.equal(maxTogether, 2, "groups a and b ran at the same time");
});

test("a failure stops its group: the failed and the later messages are reported, other groups go on", async () => {
  const ran: string[] = [];
  const errors: string[] = [];
  const failed = await processFifoBatch(
    [rec("a1", "a"), rec("a2", "a"), rec("b1", "b"), rec("a3", "a"), rec("b2", "b")],
    async (r) => {
      ran.push(r.messageId);
      if (r.messageId === "a2") throw new Error("cluster a unreachable");
    },
    { onError: (r, err) => errors.push(`${r.messageId}: ${(err as Error).message}`) },
  );
  assert.deepEqual(failed, ["a2", "a3"], "in batch order");
  assert.ok(!ran.includes("a3"), "a3 is not run after a2 failed");
  assert.deepEqual(
    ran.filter((m) => m.startsWith("b")),
    ["b1", "b2"],
  );
  assert.deepEqual(errors, ["a2: cluster a unreachable"]);
});

test("concurrency bounds the groups running at once", async () => {
  let now = 0;
  let max = 0;
  const records = Array.from({ length: 12 }, (_, i) => rec(`m${i}`, `g${i}`));
  await processFifoBatch(
    records,
    async () => {
      max = Math.max(max, ++now);
      await tick();
      now--;
    },
    { concurrency: 3 },
  );
  assert.equal(max, 3);
});
