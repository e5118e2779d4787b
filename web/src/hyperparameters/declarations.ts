import type { HyperParameterInput, ParamType } from '../gql/graphql';

const TYPES: ParamType[] = ['STR', 'INT', 'FLOAT', 'BOOL'];

export type ParsedDeclarations = { ok: true; value: HyperParameterInput[] } | { ok: false; error: string };

/**
 * Hyperparameter declarations typed as JSON for `registerTrainerImage`, checked before they
 * are sent so the person is told which entry is wrong in words (the server checks again).
 */
export function parseDeclarations(text: string): ParsedDeclarations {
  if (text.trim() === '') return { ok: true, value: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `This is not valid JSON: ${(error as Error).message}` };
  }
  if (!Array.isArray(parsed)) return { ok: false, error: 'Give a JSON array of declarations, e.g. [{"name": "seed", "type": "INT"}].' };
  const value: HyperParameterInput[] = [];
  const names = new Set<string>();
  for (const [index, entry] of parsed.entries()) {
    const where = `Entry ${index + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return { ok: false, error: `${where} is not an object.` };
    const { name, type, default: defaultValue, required, help, choices, switch: isSwitch, ...rest } = entry as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) return { ok: false, error: `${where} has unknown keys: ${unknown.join(', ')}.` };
    if (typeof name !== 'string' || name.trim() === '') return { ok: false, error: `${where} needs a "name".` };
    if (names.has(name)) return { ok: false, error: `"${name}" is declared twice.` };
    names.add(name);
    if (typeof type !== 'string' || !TYPES.includes(type as ParamType)) {
      return { ok: false, error: `"${name}": "type" must be one of ${TYPES.join(', ')}.` };
    }
    if (required !== undefined && typeof required !== 'boolean') return { ok: false, error: `"${name}": "required" must be true or false.` };
    if (isSwitch !== undefined && typeof isSwitch !== 'boolean') return { ok: false, error: `"${name}": "switch" must be true or false.` };
    if (isSwitch === true && type !== 'BOOL') return { ok: false, error: `"${name}": only a BOOL can be a switch.` };
    if (help !== undefined && typeof help !== 'string') return { ok: false, error: `"${name}": "help" must be text.` };
    if (choices !== undefined && !Array.isArray(choices)) return { ok: false, error: `"${name}": "choices" must be a list.` };
    value.push({
      name,
      type: type as ParamType,
      default: defaultValue,
      required: required ?? false,
      help: help ?? null,
      choices: (choices as unknown[] | undefined) ?? [],
      switch: isSwitch ?? false,
    });
  }
  return { ok: true, value };
}
