/** Raised for a command line that cannot run as given: printed with the usage hint, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE = `Usage: titan-media <command> [options]
       (in the image and a built checkout: node dist/cli.js <command> [options])

Administers the database the server is configured with (DATABASE_URL, also read from a .env
file in the working directory; default sqlite:./data/titan.db). Pending migrations are applied
first, so it also works before the server's first start.

Commands:
  keys create --scopes <list> [--account <id>] [--name <label>] [--expires-days <n>]
      Creates an API key and prints its secret, once (only its hash is stored).
      --scopes        comma-separated: * (everything), sessions:read, sessions:manage,
                      media:read, media:write, webhooks:manage, settings:manage
      --account       the account it belongs to (default: the default account, created when
                      there is none)
      --name          a label to tell keys apart (default: cli)
      --expires-days  the key stops working after this many days (default: never)
  keys list [--account <id>]
      Lists keys (never their secrets).
  accounts create --name <name>
      Creates an account; give it keys with keys create --account <id>.
  accounts list
      Lists accounts, the default (oldest) one first.

Options of every command:
  --json     print the result as JSON ({"data": ...}, as the HTTP API answers)
  --quiet    keys create: print only the secret; accounts create: only the id
  --help     this text
  --version  the package version

Exit codes: 0 done, 1 failed (database, unknown account), 2 wrong command line.
`;
