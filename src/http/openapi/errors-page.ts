import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

const ERRORS_DOC = new URL('../../../docs/errors.md', import.meta.url);

const escape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Inline markdown of docs/errors.md: code, bold, links (other docs pages are not served here). */
function inline(text: string): string {
  return escape(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\[([^\]]+)\]\(([^)]+)\)/g, (_m, label: string, href: string) =>
      /^https?:\/\//.test(href) ? `<a href="${href}">${label}</a>` : label,
    );
}

const cells = (row: string) =>
  row
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());

/**
 * docs/errors.md as HTML, each code's row carrying the anchor that error bodies link to
 * (`/docs/errors#media_not_found`).
 */
export function renderErrorsPage(markdown: string): string {
  const html: string[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('```')) {
      const code: string[] = [];
      while (++i < lines.length && !lines[i]!.startsWith('```')) code.push(lines[i]!);
      html.push(`<pre><code>${escape(code.join('\n'))}</code></pre>`);
    } else if (/^#{1,3} /.test(line)) {
      const level = line.indexOf(' ');
      html.push(`<h${level}>${inline(line.slice(level + 1))}</h${level}>`);
    } else if (line.startsWith('|')) {
      const rows: string[] = [];
      for (; i < lines.length && lines[i]!.startsWith('|'); i++) rows.push(lines[i]!);
      i--;
      const [head, , ...body] = rows;
      html.push(
        '<table><thead><tr>' +
          cells(head!)
            .map((c) => `<th>${inline(c)}</th>`)
            .join('') +
          '</tr></thead><tbody>',
      );
      for (const r of body) {
        const c = cells(r);
        const code = /^`([A-Z][A-Z0-9_]+)`$/.exec(c[0] ?? '')?.[1];
        const id = code ? ` id="${code.toLowerCase()}"` : '';
        html.push(
          `<tr${id}>` +
            c
              .map((x, j) =>
                j === 0 && code
                  ? `<td><a href="#${code.toLowerCase()}"><code>${code}</code></a></td>`
                  : `<td>${inline(x)}</td>`,
              )
              .join('') +
            '</tr>',
        );
      }
      html.push('</tbody></table>');
    } else if (line.trim() !== '') {
      const para: string[] = [line];
      while (i + 1 < lines.length && lines[i + 1]!.trim() !== '' && !/^(#|\||```)/.test(lines[i + 1]!))
        para.push(lines[++i]!);
      html.push(`<p>${inline(para.join(' '))}</p>`);
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>titan-media: error codes</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ddd;padding:.4rem .6rem;text-align:left;vertical-align:top}
tr:target{background:#fff6d5}code{font:13px ui-monospace,monospace}pre{background:#f6f6f6;padding:.8rem;overflow:auto}
</style></head><body>
<p><a href="/docs">← API reference</a></p>
${html.join('\n')}
</body></html>
`;
}

/** `GET /docs/errors`: the rendered catalogue (read once, it ships with the server). */
export function registerErrorsPage(app: FastifyInstance) {
  let page: Promise<string> | null = null;
  app.get('/docs/errors', { schema: { hide: true } }, async (_req, reply) => {
    page ??= readFile(ERRORS_DOC, 'utf8')
      .then(renderErrorsPage)
      .catch((err: unknown) => {
        page = null;
        throw err;
      });
    return reply.type('text/html; charset=utf-8').send(await page);
  });
}
