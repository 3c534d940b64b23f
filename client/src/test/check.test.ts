import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupByFile, parseCheckOutput } from '../logic/check';
import { updatedYamlSchemas } from '../logic/schemas';

describe('check output', () => {
  const out = JSON.stringify([
    { path: '/ws/t.trainer.yaml', line: 6, column: 5, end_line: 6, end_column: 13, severity: 'error', code: 'AG211', message: 'unknown parameter' },
    { path: 'm.model.yaml', line: 1, column: 1, end_line: 1, end_column: 1, severity: 'info', code: 'AG400', message: 'torch off' },
  ]);
  it('converts 1-based to 0-based and keeps codes', () => {
    const d = parseCheckOutput(out);
    assert.equal(d.length, 2);
    assert.deepEqual(d[0], {
      path: '/ws/t.trainer.yaml', startLine: 5, startColumn: 4, endLine: 5, endColumn: 12,
      severity: 'error', code: 'AG211', message: 'unknown parameter',
    });
    assert.equal(d[1]?.endColumn, 1); // an empty range widens to one character
  });
  it('groups by absolute path', () => {
    const g = groupByFile(parseCheckOutput(out), '/ws/');
    assert.deepEqual([...g.keys()], ['/ws/t.trainer.yaml', '/ws/m.model.yaml']);
  });
  it('empty and broken output', () => {
    assert.deepEqual(parseCheckOutput('[]\n'), []);
    assert.throws(() => parseCheckOutput('Traceback'), /no JSON array/);
  });
});

describe('yaml.schemas', () => {
  const dir = '/ext/arc-graph.arcgraph-0.1.0/schemas';
  it('adds our schemas when enabled, keeping others', () => {
    const next = updatedYamlSchemas({ 'https://x/schema.json': '*.foo.yaml' }, dir, true);
    assert.deepEqual(next, {
      'https://x/schema.json': '*.foo.yaml',
      [`${dir}/model.schema.json`]: '*.model.yaml',
      [`${dir}/trainer.schema.json`]: '*.trainer.yaml',
    });
    assert.equal(updatedYamlSchemas(next, dir, true), undefined);
  });
  it('replaces an older version of the extension and removes when disabled', () => {
    const old = { '/ext/arc-graph.arcgraph-0.0.9/schemas/model.schema.json': '*.model.yaml', keep: 'x' };
    const next = updatedYamlSchemas(old, dir, true) ?? {};
    assert.ok(!('/ext/arc-graph.arcgraph-0.0.9/schemas/model.schema.json' in next));
    assert.deepEqual(updatedYamlSchemas(next, dir, false), { keep: 'x' });
    assert.equal(updatedYamlSchemas({ keep: 'x' }, dir, false), undefined);
  });
});
