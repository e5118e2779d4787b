/** One setting across runs: its shown values, and whether they differ. Differing settings come first. */
export interface ConfigRow {
  name: string;
  values: string[];
  differs: boolean;
}

export function configRows(configs: Record<string, unknown>[]): ConfigRow[] {
  const names = [...new Set(configs.flatMap((config) => Object.keys(config)))].sort();
  const rows = names.map((name) => {
    const values = configs.map((config) => (name in config ? JSON.stringify(config[name]) : '—'));
    return { name, values, differs: new Set(values).size > 1 };
  });
  return [...rows.filter((row) => row.differs), ...rows.filter((row) => !row.differs)];
}
