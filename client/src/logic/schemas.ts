// Registering the spec schemas with the Red Hat YAML extension (`yaml.schemas`), opt-in.

export const SCHEMA_GLOBS: Readonly<Record<string, string>> = {
  'model.schema.json': '*.model.yaml',
  'trainer.schema.json': '*.trainer.yaml',
};

/**
 * The new value of `yaml.schemas` (a map of schema path/URL -> glob or globs), or undefined when
 * nothing changes. Enabled: our schemas (under `schemaDir`) are added; disabled: our entries
 * (any key ending in one of our file names under an `arcgraph` extension folder or `schemaDir`)
 * are removed. Other entries are kept as they are.
 */
export function updatedYamlSchemas(
  existing: Readonly<Record<string, unknown>> | undefined,
  schemaDir: string,
  enabled: boolean,
): Record<string, unknown> | undefined {
  const current: Record<string, unknown> = { ...(existing ?? {}) };
  const ours = (key: string): boolean =>
    Object.keys(SCHEMA_GLOBS).some(
      (name) => key === `${schemaDir}/${name}` || (/arc-graph\.arcgraph[^/]*\/schemas\//.test(key) && key.endsWith(`/${name}`)),
    );
  let changed = false;
  for (const key of Object.keys(current)) {
    if (ours(key) && (!enabled || !key.startsWith(`${schemaDir}/`))) {
      delete current[key];
      changed = true;
    }
  }
  if (enabled) {
    for (const [name, glob] of Object.entries(SCHEMA_GLOBS)) {
      const key = `${schemaDir}/${name}`;
      if (current[key] !== glob) {
        current[key] = glob;
        changed = true;
      }
    }
  }
  return changed ? current : undefined;
}
