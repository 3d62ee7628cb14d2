import { isDeepStrictEqual } from 'node:util';

type Doc = Record<string, unknown> & { components?: { schemas?: Record<string, unknown> } };

const REF = '#/components/schemas/';

/**
 * One schema per shape: fastify-type-provider-zod emits an `XInput` twin of every registered
 * schema; a twin identical to its `X` is folded into it, and schemas nothing refers to
 * (directly or through another schema) are dropped.
 */
export function tidyComponents(doc: Doc): Doc {
  const schemas = { ...(doc.components?.schemas ?? {}) };
  const rename = new Map<string, string>();
  for (const name of Object.keys(schemas)) {
    const base = name.endsWith('Input') ? name.slice(0, -'Input'.length) : null;
    if (base && base in schemas && isDeepStrictEqual(schemas[name], schemas[base])) rename.set(name, base);
  }
  for (const name of rename.keys()) delete schemas[name];
  const out = rewriteRefs({ ...doc, components: { ...doc.components, schemas } }, rename) as Doc;
  const all = out.components?.schemas ?? {};
  const used = referenced({ ...out, components: { ...out.components, schemas: undefined } }, all);
  return {
    ...out,
    components: { ...out.components, schemas: Object.fromEntries(Object.entries(all).filter(([n]) => used.has(n))) },
  };
}

function rewriteRefs(node: unknown, rename: Map<string, string>): unknown {
  if (Array.isArray(node)) return node.map((n) => rewriteRefs(n, rename));
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(REF))
        return [k, REF + (rename.get(v.slice(REF.length)) ?? v.slice(REF.length))];
      return [k, rewriteRefs(v, rename)];
    }),
  );
}

/** Names of the schemas reachable from `root`, following refs through `schemas`. */
function referenced(root: unknown, schemas: Record<string, unknown>): Set<string> {
  const seen = new Set<string>();
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (typeof node !== 'object' || node === null) return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(REF)) {
        const name = v.slice(REF.length);
        if (!seen.has(name)) {
          seen.add(name);
          walk(schemas[name]);
        }
      } else walk(v);
    }
  };
  walk(root);
  return seen;
}
