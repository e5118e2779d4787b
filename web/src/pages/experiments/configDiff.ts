/** One setting across runs: its shown values, and whether they differ. Differing settings come first. */
export interface ConfigRow {
  name: string;
  values: string[];
  differs: boolean;
}

const shown = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/** Keys starting with `__` are the GraphQL client's own (`__typename`), not settings. */
export function configRows(configs: Record<string, unknown>[]): ConfigRow[] {
  const names = [...new Set(configs.flatMap((config) => Object.keys(config)))].filter((name) => !name.startsWith('__')).sort();
  const rows = names.map((name) => {
    const values = configs.map((config) => (name in config ? shown(config[name]) : '—'));
    return { name, values, differs: new Set(values).size > 1 };
  });
  return [...rows.filter((row) => row.differs), ...rows.filter((row) => !row.differs)];
}
