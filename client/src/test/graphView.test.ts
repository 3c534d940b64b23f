import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ElkNode,
  type GraphNode,
  type ModelGraph,
  asModelGraph,
  elkInput,
  nodeLines,
  nodesAtLine,
  parseFromView,
  visibleId,
} from '../logic/graphView';

function node(id: string, line: number, endLine: number, parent: string | null = null, type = 'torch.nn.Linear'): GraphNode {
  return { id, name: id.split('/').pop()?.replace('node:', '') ?? id, type, line, endLine, parent, outputShape: null, params: null, severity: null };
}

// the server's answer for a model with a module group `block` (lin -> act) fed by `features`
const GRAPH: ModelGraph = {
  uri: 'file:///ws/models/m.model.yaml',
  version: 3,
  inputs: [{ id: 'input:features', name: 'features', dtype: 'float32', shape: [null, 4], line: 10 }],
  nodes: [
    node('node:block', 13, 15, null, 'module.Block'),
    node('node:block/lin', 4, 4, 'node:block'),
    node('node:block/act', 5, 5, 'node:block', 'torch.nn.ReLU'),
    node('node:head', 16, 19),
  ],
  outputs: [{ id: 'output:y', name: 'y', ref: 'head.output', line: 22 }],
  edges: [
    { source: 'node:block/lin', target: 'node:block/act', label: null },
    { source: 'input:features', target: 'node:block', label: '[B, 4]' },
    { source: 'node:block', target: 'node:head', label: null },
    { source: 'node:head', target: 'output:y', label: null },
  ],
  groups: [{ id: 'node:block', kind: 'module', module: 'Block', count: null }],
};

const ids = (n: ElkNode): string[] => (n.children ?? []).map((c) => c.id);
const edges = (n: ElkNode): string[] => (n.edges ?? []).map((e) => `${e.sources[0]}->${e.targets[0]}`);

describe('graph view: the ELK input', () => {
  it('a collapsed group is one box; its inner edge is dropped; left to right, layered', () => {
    const root = elkInput(GRAPH, new Set());
    assert.deepEqual(ids(root), ['input:features', 'node:block', 'node:head', 'output:y']);
    assert.deepEqual(edges(root), ['input:features->node:block', 'node:block->node:head', 'node:head->output:y']);
    assert.equal(root.layoutOptions?.['elk.algorithm'], 'layered');
    assert.equal(root.layoutOptions?.['elk.direction'], 'RIGHT');
    const block = root.children?.[1];
    assert.equal(block?.children, undefined);
    assert.ok((block?.width ?? 0) > 0 && (block?.height ?? 0) > 0);
    assert.deepEqual(root.edges?.[0].labels?.map((l) => l.text), ['[B, 4]']);
  });

  it('an expanded group holds its nodes and their edge; ELK sizes it', () => {
    const root = elkInput(GRAPH, new Set(['node:block']));
    const block = root.children?.find((c) => c.id === 'node:block');
    assert.deepEqual(ids(block ?? { id: 'x' }), ['node:block/lin', 'node:block/act']);
    assert.deepEqual(edges(block ?? { id: 'x' }), ['node:block/lin->node:block/act']);
    assert.equal(block?.width, undefined);
    assert.deepEqual(edges(root), ['input:features->node:block', 'node:block->node:head', 'node:head->output:y']);
  });

  it('visibleId: a node inside a collapsed group stands as the group', () => {
    assert.equal(visibleId(GRAPH, 'node:block/lin', new Set()), 'node:block');
    assert.equal(visibleId(GRAPH, 'node:block/lin', new Set(['node:block'])), 'node:block/lin');
    assert.equal(visibleId(GRAPH, 'input:features', new Set()), 'input:features');
  });
});

describe('graph view: cursor and boxes', () => {
  it('the node under an editor line, innermost visible', () => {
    assert.deepEqual(nodesAtLine(GRAPH, 17, new Set()), ['node:head']);
    assert.deepEqual(nodesAtLine(GRAPH, 4, new Set()), ['node:block']);
    assert.deepEqual(nodesAtLine(GRAPH, 4, new Set(['node:block'])), ['node:block/lin']);
    assert.deepEqual(nodesAtLine(GRAPH, 11, new Set()), []);
  });

  it('a box shows name, type, output shape (B for the batch) and params', () => {
    const n = { ...node('node:fc', 1, 2), outputShape: ['B', 8], params: 1234 };
    assert.deepEqual(nodeLines(n), ['fc', 'torch.nn.Linear', '[B, 8]', '1,234 params']);
    assert.deepEqual(nodeLines(node('node:fc', 1, 2)), ['fc', 'torch.nn.Linear', '[?]']);
    const lstm = { ...node('node:lstm', 1, 2, null, 'torch.nn.LSTM'), outputShape: [['B', 5, 8], ['B', 8]], params: 96 };
    assert.deepEqual(nodeLines(lstm), ['lstm', 'torch.nn.LSTM', '([B, 5, 8], [B, 8])', '96 params']);
  });
});

describe('graph view: messages', () => {
  it('accepts ready and reveal with a line, nothing else', () => {
    assert.deepEqual(parseFromView({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseFromView({ type: 'reveal', line: 12 }), { type: 'reveal', line: 12 });
    assert.equal(parseFromView({ type: 'reveal', line: -1 }), undefined);
    assert.equal(parseFromView({ type: 'reveal', line: '3' }), undefined);
    assert.equal(parseFromView({ type: 'run', command: 'x' }), undefined);
    assert.equal(parseFromView(null), undefined);
  });

  it('asModelGraph: a graph answer, or undefined for null (not a model)', () => {
    assert.equal(asModelGraph(GRAPH), GRAPH);
    assert.equal(asModelGraph(null), undefined);
    assert.equal(asModelGraph({ uri: 'x', nodes: [] }), undefined);
  });
});
