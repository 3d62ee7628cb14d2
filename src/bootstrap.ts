import type { AccountService } from './accounts/account-service.js';
import type { ApiKeyService } from './accounts/api-key-service.js';

/**
 * First start on embedded defaults (no MASTER_KEY, not production, no key yet): create the
 * default account and one full-scope key, and return the lines to show once.
 */
export async function bootstrapFirstKey(
  accounts: AccountService,
  apiKeys: ApiKeyService,
  opts: { masterKey: string | undefined; production: boolean; baseUrl: string },
): Promise<string | null> {
  if (opts.masterKey || opts.production || (await apiKeys.count()) > 0) return null;
  const account = await accounts.defaultAccount();
  const created = await apiKeys.create(account.id, { label: 'bootstrap', scopes: ['*'] });
  return [
    '',
    'First start: created the default account and a full-scope API key. It is shown only now:',
    '',
    `  ${created.key}`,
    '',
    'Try it (or paste the export line before the README walk-through):',
    `  curl -H "Authorization: Bearer ${created.key}" ${opts.baseUrl}/api/account`,
    `  export KEY=${created.key}`,
    '',
  ].join('\n');
}
