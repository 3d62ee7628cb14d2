import type { Clock } from '../clock.js';
import { AccountNotFoundError } from '../errors.js';
import { newId } from '../ids.js';
import type { Db } from '../store/db.js';
import * as repo from '../store/repositories/accounts.js';
import type { AccountTable } from '../store/schema.js';

export interface Account {
  id: string;
  name: string;
  createdAt: string;
}

const toAccount = (r: AccountTable): Account => ({ id: r.id, name: r.name, createdAt: r.created_at });

export type AccountService = ReturnType<typeof createAccountService>;

export function createAccountService(db: Db, clock: Clock) {
  return {
    async create(name: string): Promise<Account> {
      const row = { id: newId('acc_'), name, created_at: clock.now().toISOString() };
      await repo.insertAccount(db, row);
      return toAccount(row);
    },
    async get(id: string): Promise<Account> {
      const row = await repo.findAccount(db, id);
      if (!row) throw new AccountNotFoundError();
      return toAccount(row);
    },
    async list(): Promise<Account[]> {
      return (await repo.listAccounts(db)).map(toAccount);
    },
    /** The default account of a single-tenant install (the oldest), created when none exists. */
    async defaultAccount(): Promise<Account> {
      const row = await repo.findFirstAccount(db);
      return row ? toAccount(row) : this.create('default');
    },
  };
}
