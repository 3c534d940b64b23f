// The graph view's logic without VS Code or the DOM: the server's `arcgraph/modelGraph` answer,
// the ELK layout input built from it (groups collapsed or expanded), the node under an editor
// line, and the messages between the extension and the webview. Shared by the extension
// (dist/extension.js) and the webview script (media/graphView.js); unit-tested under node.

/** A tensor shape from the shape probe: ints, "B" for the batch, "?" for other sizes. */
export type Shape = (number | string)[];

/** The answer of `arcgraph/modelGraph` (see server/arcgraph/lsp/model_graph.py). */
export interface ModelGraph {
  uri: string;
  version: number | null;
  inputs: GraphInput[];
  nodes: GraphNode[];
  outputs: GraphOutput[];
  edges: GraphEdge[];
  groups: GraphGroup[];
}

export interface GraphInput {
  id: string;
  name: string;
  dtype: string | null;
  shape: (number | null)[] | null;
  line: number;
}

export interface GraphNode {
  id: string;
  name: string;
  type: string | null;
  line: number;
  endLine: number;
  parent: string | null;
  outputShape: Shape | Shape[] | null; // several outputs: a list of shapes
  params: number | null;
  severity: number | null; // LSP DiagnosticSeverity: 1 error ... 4 hint
}

export interface GraphOutput {
  id: string;
  name: string;
  ref: string | null;
  line: number;
}

export interface GraphEdge {
  source: string;
  target: string;
  label: string | null;
}

export interface GraphGroup {
  id: string; // the id of the module.X / arc.stack node that is the group
  kind: 'module' | 'stack';
  module: string;
  count: number | null;
}

/** ELK's JSON graph, the part this view uses. */
export interface ElkLabel {
  text: string;
  width: number;
  height: number;
  x?: number;
  y?: number;
}

export interface ElkPoint {
  x: number;
  y: number;
}

export interface ElkSection {
  startPoint: ElkPoint;
  endPoint: ElkPoint;
  bendPoints?: ElkPoint[];
}

export interface ElkEdge {
  id: string;
  sources: string[];
  targets: string[];
  labels?: ElkLabel[];
  sections?: ElkSection[];
  container?: string;
}

export interface ElkNode {
  id: string;
  width?: number;
  height?: number;
  x?: number;
  y?: number;
  layoutOptions?: Record<string, string>;
  children?: ElkNode[];
  edges?: ElkEdge[];
  labels?: ElkLabel[];
}

export const ROOT = 'root';
const CHAR_W = 7; // px per character of the 12px monospace-ish label font
const LINE_H = 16;
const PAD = 12;
export const GROUP_HEADER = 28; // room for an expanded group's title

/** The text lines a box shows: name, type, output shape, params. */
export function nodeLines(node: GraphNode): string[] {
  const lines = [node.name];
  if (node.type) {
    lines.push(node.type);
  }
  lines.push(node.outputShape ? outputText(node.outputShape) : '[?]');
  if (node.params !== null) {
    lines.push(`${node.params.toLocaleString('en-US')} params`);
  }
  return lines;
}

/** `[B, 8]`, or `([B, 8], [B, 4])` for a node with several outputs. */
export function outputText(shape: Shape | Shape[]): string {
  const many = shape.length > 0 && shape.every(Array.isArray);
  return many ? `(${(shape as Shape[]).map(shapeText).join(', ')})` : shapeText(shape as Shape);
}

export function shapeText(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((d) => (d === null ? 'B' : String(d))).join(', ')}]`;
}

function boxOf(lines: string[]): { width: number; height: number } {
  const longest = Math.max(...lines.map((l) => l.length));
  return { width: longest * CHAR_W + 2 * PAD, height: lines.length * LINE_H + PAD };
}

/** The id of the visible box standing for `id`: itself, or its outermost collapsed group. */
export function visibleId(graph: ModelGraph, id: string, expanded: ReadonlySet<string>): string {
  const parents = new Map(graph.nodes.map((n) => [n.id, n.parent]));
  let shown = id;
  for (let p = parents.get(id) ?? null; p !== null; p = parents.get(p) ?? null) {
    if (!expanded.has(p)) {
      shown = p;
    }
  }
  return shown;
}

/**
 * The ELK input: inputs, nodes and outputs as boxes (an expanded group holds its module's
 * nodes), edges between the visible boxes (an edge into a collapsed group ends at the group),
 * each edge defined in the lowest common container of its ends, laid out left to right.
 */
export function elkInput(graph: ModelGraph, expanded: ReadonlySet<string>): ElkNode {
  const groups = new Set(graph.groups.map((g) => g.id));
  const byId = new Map<string, ElkNode>();
  const parentOf = new Map<string, string>();
  const root: ElkNode = {
    id: ROOT,
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '48',
      'elk.spacing.nodeNode': '24',
      'elk.spacing.edgeLabel': '4',
      'elk.edgeLabels.inline': 'true',
    },
    children: [],
    edges: [],
  };
  byId.set(ROOT, root);
  for (const input of graph.inputs) {
    const lines = [input.name, input.shape ? shapeText(input.shape) : 'input'];
    const box: ElkNode = { id: input.id, ...boxOf(lines) };
    root.children?.push(box);
    byId.set(input.id, box);
    parentOf.set(input.id, ROOT);
  }
  const shown = (id: string) => visibleId(graph, id, expanded) === id;
  for (const node of graph.nodes) {
    if (!shown(node.id)) {
      continue;
    }
    const container = node.parent === null ? root : byId.get(node.parent);
    if (!container) {
      continue;
    }
    const lines = nodeLines(node);
    const box: ElkNode = { id: node.id, ...boxOf(lines) };
    if (groups.has(node.id) && expanded.has(node.id)) {
      box.children = [];
      box.edges = [];
      box.layoutOptions = { 'elk.padding': `[top=${GROUP_HEADER},left=12,bottom=12,right=12]` };
      box.labels = [{ text: node.name, width: box.width ?? 0, height: LINE_H }];
      delete box.width;
      delete box.height;
    }
    container.children = container.children ?? [];
    container.children.push(box);
    byId.set(node.id, box);
    parentOf.set(node.id, container.id);
  }
  for (const output of graph.outputs) {
    const box: ElkNode = { id: output.id, ...boxOf([output.name, 'output']) };
    root.children?.push(box);
    byId.set(output.id, box);
    parentOf.set(output.id, ROOT);
  }
  const ancestors = (id: string): string[] => {
    const out: string[] = [];
    for (let p = parentOf.get(id); p !== undefined; p = parentOf.get(p)) {
      out.push(p);
    }
    return out;
  };
  const seen = new Set<string>();
  for (const edge of graph.edges) {
    const from = visibleId(graph, edge.source, expanded);
    const to = visibleId(graph, edge.target, expanded);
    const key = `${from}->${to}`;
    if (from === to || !byId.has(from) || !byId.has(to) || seen.has(key)) {
      continue;
    }
    seen.add(key);
    const up = ancestors(to);
    const container = byId.get(ancestors(from).find((a) => up.includes(a)) ?? ROOT) ?? root;
    const elkEdge: ElkEdge = { id: `e${seen.size}`, sources: [from], targets: [to] };
    if (edge.label) {
      elkEdge.labels = [{ text: edge.label, width: edge.label.length * CHAR_W, height: LINE_H }];
    }
    container.edges = container.edges ?? [];
    container.edges.push(elkEdge);
  }
  return root;
}

/** The ids of the nodes whose lines hold `line`, the innermost first seen as visible boxes. */
export function nodesAtLine(graph: ModelGraph, line: number, expanded: ReadonlySet<string>): string[] {
  const hits = graph.nodes.filter((n) => n.line <= line && line <= n.endLine);
  const ids = new Set(hits.map((n) => visibleId(graph, n.id, expanded)));
  return [...ids];
}

/** Extension -> webview. */
export type ToView =
  | { type: 'graph'; graph: ModelGraph }
  | { type: 'highlight'; line: number }
  | { type: 'error'; message: string };

/** Webview -> extension. */
export type FromView = { type: 'ready' } | { type: 'reveal'; line: number };

/** A message from the webview, checked (it is untrusted input), or undefined. */
export function parseFromView(message: unknown): FromView | undefined {
  if (typeof message !== 'object' || message === null) {
    return undefined;
  }
  const m = message as Record<string, unknown>;
  if (m.type === 'ready') {
    return { type: 'ready' };
  }
  if (m.type === 'reveal' && typeof m.line === 'number' && Number.isInteger(m.line) && m.line >= 0) {
    return { type: 'reveal', line: m.line };
  }
  return undefined;
}

/** The server's answer, checked enough to draw (null: not a model spec). */
export function asModelGraph(value: unknown): ModelGraph | undefined {
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const g = value as Partial<ModelGraph>;
  const lists = [g.inputs, g.nodes, g.outputs, g.edges, g.groups];
  return lists.every(Array.isArray) && typeof g.uri === 'string' ? (g as ModelGraph) : undefined;
}
