// The official Qdrant JavaScript client (@qdrant/js-client-rest, pinned in package.json) against a
// real `vecdex serve` on a free port and a temporary data directory. Nearest neighbours are checked
// against exact answers computed here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QdrantClient } from '@qdrant/js-client-rest';

const BIN = process.env.VECDEX_BIN;
const DIM = 8;
const N = 200;
let server;
let dataDir;
let client;

// Deterministic vectors and payloads.
function vec(i) {
  const v = [];
  for (let j = 0; j < DIM; j++) v.push(Math.sin(0.7 * i + 1.3 * j) + 0.1 * j);
  return v;
}
function payload(i) {
  return { group: i % 3, name: `p${i}`, tags: i % 2 === 0 ? ['even'] : ['odd'] };
}
function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let j = 0; j < a.length; j++) { dot += a[j] * b[j]; na += a[j] * a[j]; nb += b[j] * b[j]; }
  return dot / Math.sqrt(na * nb);
}
// Ids among `ids` ranked by cosine similarity to q (best first).
function exact(q, ids, k) {
  return ids.map((id) => [id, cosine(q, vec(id))])
    .sort((x, y) => y[1] - x[1] || x[0] - y[0])
    .slice(0, k);
}
const allIds = [...Array(N).keys()];

function startServer() {
  dataDir = mkdtempSync(join(tmpdir(), 'vecdex-js-'));
  return new Promise((resolve, reject) => {
    server = spawn(BIN, ['serve', '--data', dataDir, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    server.stderr.on('data', (chunk) => {
      log += chunk.toString();
      const m = log.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
    server.on('exit', (code) => reject(new Error(`vecdex serve exited with ${code}: ${log}`)));
  });
}

before(async () => {
  assert.ok(BIN, 'VECDEX_BIN must name the vecdex binary');
  const port = await startServer();
  client = new QdrantClient({ url: `http://127.0.0.1:${port}`, checkCompatibility: false });
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.on('exit', resolve));
    server.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, 'vecdex serve exits 0 on SIGTERM');
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('collections, points, search, payload and indexes through the Qdrant client', async (t) => {
  await t.test('create collection', async () => {
    assert.equal(await client.createCollection('docs', {
      vectors: { size: DIM, distance: 'Cosine' },
      hnsw_config: { m: 16, ef_construct: 100 },
      optimizers_config: { default_segment_number: 2 },
    }), true);
    const { collections } = await client.getCollections();
    assert.deepEqual(collections.map((c) => c.name), ['docs']);
    assert.deepEqual(await client.collectionExists('docs'), { exists: true });
    const info = await client.getCollection('docs');
    assert.equal(info.config.params.vectors.size, DIM);
    assert.equal(info.config.params.vectors.distance, 'Cosine');
    await assert.rejects(client.getCollection('missing'), (e) => e.status === 404);
    await assert.rejects(client.createCollection('docs', { vectors: { size: DIM, distance: 'Cosine' } }),
      (e) => e.status === 409);
  });

  await t.test('upsert, points form and batch form', async () => {
    const points = [];
    for (let i = 0; i < 150; i++) points.push({ id: i, vector: vec(i), payload: payload(i) });
    const r1 = await client.upsert('docs', { wait: true, points });
    assert.equal(r1.status, 'completed');
    const ids = [], vectors = [], payloads = [];
    for (let i = 150; i < N; i++) { ids.push(i); vectors.push(vec(i)); payloads.push(payload(i)); }
    const r2 = await client.upsert('docs', { wait: true, batch: { ids, vectors, payloads } });
    assert.equal(r2.status, 'completed');
    assert.equal((await client.getCollection('docs')).points_count, N);
  });

  await t.test('retrieve', async () => {
    const got = await client.retrieve('docs', { ids: [1, 160, 999], with_vector: true });
    assert.deepEqual(got.map((p) => p.id), [1, 160]);
    assert.deepEqual(got[1].payload, payload(160));
    const norm = Math.hypot(...vec(1));
    got[0].vector.forEach((x, j) => assert.ok(Math.abs(x - vec(1)[j] / norm) < 1e-5));
  });

  await t.test('query: exact and approximate nearest neighbours', async () => {
    let hits = 0;
    for (let qi = 0; qi < 10; qi++) {
      const q = vec(1000 + qi);
      const truth = exact(q, allIds, 5);
      const { points } = await client.query('docs', { query: q, limit: 5, params: { exact: true } });
      assert.deepEqual(points.map((p) => p.id), truth.map(([id]) => id));
      points.forEach((p, i) => assert.ok(Math.abs(p.score - truth[i][1]) < 1e-4));
      const approx = await client.query('docs', { query: { nearest: q }, limit: 5, params: { hnsw_ef: 128 } });
      const want = new Set(truth.map(([id]) => id));
      hits += approx.points.filter((p) => want.has(p.id)).length;
    }
    assert.ok(hits / 50 >= 0.9, `recall@5 ${hits / 50}`);
    // By id: the point's own vector, the point itself left out.
    const byId = await client.query('docs', { query: 17, limit: 3, params: { exact: true } });
    assert.deepEqual(byId.points.map((p) => p.id), exact(vec(17), allIds.filter((i) => i !== 17), 3).map(([id]) => id));
    const withPayload = await client.query('docs', { query: vec(1000), limit: 3, with_payload: true, params: { exact: true } });
    assert.deepEqual(withPayload.points[0].payload, payload(withPayload.points[0].id));
  });

  await t.test('queryBatch with filters', async () => {
    const filter = { must: [{ key: 'group', match: { value: 1 } }] };
    const qs = [vec(2000), vec(2001), vec(2002)];
    const results = await client.queryBatch('docs', {
      searches: qs.map((q) => ({ query: q, filter, limit: 4, with_payload: true, params: { exact: true } })),
    });
    assert.equal(results.length, 3);
    const group1 = allIds.filter((i) => i % 3 === 1);
    results.forEach(({ points }, i) => {
      assert.deepEqual(points.map((p) => p.id), exact(qs[i], group1, 4).map(([id]) => id));
      points.forEach((p) => assert.equal(p.payload.group, 1));
    });
    const should = { should: [{ key: 'name', match: { any: ['p3', 'p4'] } }, { has_id: [5] }] };
    const { points } = await client.query('docs', { query: vec(3000), filter: should, limit: 10 });
    assert.deepEqual(points.map((p) => p.id).sort((a, b) => a - b), [3, 4, 5]);
  });

  await t.test('scroll and count', async () => {
    const seen = [];
    let offset;
    let pages = 0;
    do {
      const page = await client.scroll('docs', { limit: 64, offset, with_payload: false });
      seen.push(...page.points.map((p) => p.id));
      offset = page.next_page_offset ?? undefined;
      pages++;
    } while (offset !== undefined && pages < 10);
    assert.equal(pages, 4);
    assert.deepEqual(seen, allIds);
    assert.deepEqual(await client.count('docs', {}), { count: N });
    const filter = { must: [{ key: 'tags', match: { value: 'even' } }, { key: 'group', match: { value: 2 } }] };
    const want = allIds.filter((i) => i % 2 === 0 && i % 3 === 2).length;
    assert.deepEqual(await client.count('docs', { filter, exact: true }), { count: want });
  });

  await t.test('payload operations', async () => {
    await client.setPayload('docs', { payload: { flag: true }, points: [1, 2] });
    let [p1, p2] = await client.retrieve('docs', { ids: [1, 2] });
    assert.deepEqual(p1.payload, { ...payload(1), flag: true });
    await client.overwritePayload('docs', { payload: { only: 'this' }, points: [2] });
    [p2] = await client.retrieve('docs', { ids: [2] });
    assert.deepEqual(p2.payload, { only: 'this' });
    await client.deletePayload('docs', { keys: ['flag', 'tags'], points: [1] });
    [p1] = await client.retrieve('docs', { ids: [1] });
    assert.deepEqual(p1.payload, { group: 1, name: 'p1' });
    await client.clearPayload('docs', { points: [2] });
    [p2] = await client.retrieve('docs', { ids: [2] });
    assert.deepEqual(p2.payload, {});
    await client.setPayload('docs', { payload: { marked: 'yes' }, filter: { must: [{ key: 'name', match: { value: 'p9' } }] } });
    const [p9] = await client.retrieve('docs', { ids: [9] });
    assert.equal(p9.payload.marked, 'yes');
  });

  await t.test('payload index', async () => {
    await client.createPayloadIndex('docs', { field_name: 'group', field_schema: 'integer', wait: true });
    await client.createPayloadIndex('docs', { field_name: 'name', field_schema: 'keyword', wait: true });
    const info = await client.getCollection('docs');
    assert.equal(info.payload_schema.group.data_type, 'integer');
    assert.equal(info.payload_schema.name.data_type, 'keyword');
    const { count } = await client.count('docs', { filter: { must: [{ key: 'group', match: { value: 0 } }] } });
    assert.equal(count, allIds.filter((i) => i % 3 === 0).length);
    await client.deletePayloadIndex('docs', 'name', { wait: true });
    assert.equal((await client.getCollection('docs')).payload_schema.name, undefined);
  });

  await t.test('delete by ids and by filter', async () => {
    await client.delete('docs', { points: [0, 3] });
    assert.equal((await client.count('docs')).count, N - 2);
    await client.delete('docs', { filter: { must: [{ key: 'group', match: { value: 2 } }] } });
    // Point 2's payload was cleared above: the filter no longer matches it.
    const left = allIds.filter((i) => i !== 0 && i !== 3 && (i % 3 !== 2 || i === 2));
    assert.equal((await client.count('docs')).count, left.length);
    const q = vec(4000);
    const { points } = await client.query('docs', { query: q, limit: 5, params: { exact: true } });
    assert.deepEqual(points.map((p) => p.id), exact(q, left, 5).map(([id]) => id));
  });

  await t.test('string and UUID ids', async () => {
    const uuid = '6F9619FF-8B86-D011-B42D-00C04FC964FF';
    await client.upsert('docs', { points: [{ id: uuid, vector: vec(7), payload: { kind: 'uuid' } }] });
    const [p] = await client.retrieve('docs', { ids: [uuid.toLowerCase()] });
    assert.equal(p.id, uuid.toLowerCase());
  });

  await t.test('drop', async () => {
    assert.equal(await client.deleteCollection('docs'), true);
    assert.deepEqual(await client.collectionExists('docs'), { exists: false });
  });
});
