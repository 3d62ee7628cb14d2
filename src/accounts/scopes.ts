export const SCOPES = [
  '*',
  'sessions:read',
  'sessions:manage',
  'media:read',
  'media:write',
  'webhooks:manage',
  'settings:manage',
] as const;

export type Scope = (typeof SCOPES)[number];

/** `*` grants everything; `sessions:manage` implies `sessions:read`. */
export function hasScope(granted: readonly string[], required: Scope): boolean {
  if (granted.includes('*') || granted.includes(required)) return true;
  return required === 'sessions:read' && granted.includes('sessions:manage');
}

/** Whether every scope of `wanted` is held by `granted` (a key cannot mint more than it has). */
export function coversScopes(granted: readonly string[], wanted: readonly Scope[]): boolean {
  if (granted.includes('*')) return true;
  return wanted.every((s) => s !== '*' && hasScope(granted, s));
}
