#!/usr/bin/env node
// Static checks of a Dockerfile that need no Docker engine and no extra packages
// (hadolint is not packaged for Debian 12 and `docker build --check` needs a daemon).
// It parses the file the way BuildKit does for what matters here (parser directives,
// line continuations, comments, heredocs), then checks structure and conventions.
//
//   node scripts/check-dockerfile.js [Dockerfile] [--context DIR]
//
// Exits 1 if any error is found; warnings are printed but do not fail.
import console from 'node:console';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import process from 'node:process';

const args = process.argv.slice(2);
let file = 'Dockerfile';
let context;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--context') context = args[++i];
  else file = args[i];
}
context = resolve(context ?? dirname(resolve(file)));

const errors = [];
const warnings = [];
const checked = [];
const error = (line, msg) => errors.push({ line, text: `${file}:${line}: ${msg}` });
const warn = (line, msg) => warnings.push({ line, text: `${file}:${line}: ${msg}` });
const byLine = (a, b) => a.line - b.line;

const KNOWN = new Set([
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
]);
// Flags each instruction accepts (Dockerfile frontend 1.x).
const FLAGS = {
  ADD: ['chown', 'chmod', 'link', 'keep-git-dir', 'checksum', 'exclude', 'unpack'],
  COPY: ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'],
  FROM: ['platform'],
  RUN: ['mount', 'network', 'security'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

// ---- parse -------------------------------------------------------------------

/** Instructions as { line, keyword, rest }, with continuations joined and comments dropped. */
function parse(text) {
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  let i = 0;
  // Parser directives: only at the very top, before any other line.
  for (; i < lines.length; i++) {
    const m = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/.exec(lines[i]);
    if (!m) break;
    if (m[1].toLowerCase() === 'escape') escape = m[2];
  }
  const out = [];
  while (i < lines.length) {
    const start = i + 1;
    let line = lines[i++];
    if (/^\s*(#|$)/.test(line)) continue;
    let joined = '';
    // A trailing escape continues the instruction; comment lines inside are skipped.
    while (line.trimEnd().endsWith(escape) && i <= lines.length) {
      joined += line.trimEnd().slice(0, -escape.length) + ' ';
      while (i < lines.length && /^\s*#/.test(lines[i])) i++;
      if (i >= lines.length) {
        line = '';
        break;
      }
      line = lines[i++];
    }
    joined += line;
    const m = /^\s*(\S+)\s*(.*)$/.exec(joined);
    const inst = { line: start, keyword: m[1], rest: m[2].trim(), heredocs: [] };
    // Heredocs (RUN <<EOF ... EOF): their bodies are not instructions.
    for (const h of inst.rest.matchAll(/<<-?(["']?)([A-Za-z_][A-Za-z0-9_]*)\1/g)) {
      const body = [];
      while (i < lines.length && lines[i].replace(/^\t+/, '') !== h[2]) body.push(lines[i++]);
      if (i >= lines.length) error(start, `heredoc <<${h[2]} is never closed`);
      i++;
      inst.heredocs.push(body.join('\n'));
    }
    out.push(inst);
  }
  return out;
}

/** Leading --flag[=value] options of an instruction, and what follows them. */
function splitFlags(rest) {
  const flags = [];
  let s = rest;
  for (;;) {
    const m = /^--([a-z][a-z-]*)(?:=("[^"]*"|\S*))?\s*/.exec(s);
    if (!m) break;
    flags.push({ name: m[1], value: (m[2] ?? '').replace(/^"(.*)"$/, '$1') });
    s = s.slice(m[0].length);
  }
  return { flags, body: s.trim() };
}

/** The exec (JSON) form, if `body` is one: an array of strings; `null` for shell form. */
function execForm(body, line, keyword) {
  if (!body.startsWith('[')) return null;
  try {
    const v = JSON.parse(body);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // fall through
  }
  // BuildKit would run this as a shell command: almost always a quoting mistake.
  error(line, `${keyword} looks like exec form but is not a JSON array of strings: ${body}`);
  return null;
}

/** Substitutes ${VAR}, ${VAR:-default} and $VAR from `vars`; unknown ones stay as they are. */
function expand(s, vars) {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+]([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, a, def, b) => {
    const name = a ?? b;
    if (vars.has(name) && vars.get(name) !== undefined) return vars.get(name);
    return def ?? all;
  });
}

// ---- .dockerignore -------------------------------------------------------------

// Stands for a `**` segment while the rest of a pattern is escaped (a private-use character).
const GLOBSTAR = '\uE000';

function loadIgnore(dir) {
  const p = join(dir, '.dockerignore');
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      let pat = posix
        .normalize((negate ? l.slice(1) : l).trim())
        .replace(/^\/+/, '')
        .replace(/\/+$/, '');
      if (pat === '.') pat = '';
      // Docker's patterns: filepath.Match per segment plus `**` for any number of segments.
      const re = pat
        .split('/')
        .map((seg) =>
          seg === '**'
            ? GLOBSTAR
            : seg
                .replace(/[.+^${}()|\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\uE000\/?/g, '(?:.*/)?')
        .replace(/\/?\(\?:\.\*\/\)\?$/, '(?:/.*)?');
      return { negate, re: new RegExp(`^${re}$`) };
    });
}

/** Whether `rel` (or a folder above it) is excluded; the last matching line wins. */
function ignored(rules, rel) {
  const parts = rel.split('/');
  let out = false;
  for (const r of rules) {
    for (let n = 1; n <= parts.length; n++) {
      if (r.re.test(parts.slice(0, n).join('/'))) {
        out = !r.negate;
        break;
      }
    }
  }
  return out;
}

// ---- checks ------------------------------------------------------------------

let text;
try {
  text = readFileSync(file, 'utf8');
} catch (e) {
  console.error(`check-dockerfile: cannot read ${file}: ${e.message}`);
  process.exit(1);
}
const insts = parse(text);
const ignoreRules = loadIgnore(context);

checked.push('every instruction is a known keyword with its known flags and an argument');
const globalArgs = new Map();
const stages = []; // { name, index, line, insts: [] }
for (const inst of insts) {
  const kw = inst.keyword.toUpperCase();
  if (!KNOWN.has(kw)) {
    error(inst.line, `unknown instruction "${inst.keyword}"`);
    continue;
  }
  if (inst.keyword !== kw) warn(inst.line, `write instructions in upper case: ${inst.keyword}`);
  inst.kw = kw;
  const { flags, body } = splitFlags(inst.rest);
  inst.flags = flags;
  inst.body = body;
  for (const f of flags) {
    if (!(FLAGS[kw] ?? []).includes(f.name)) error(inst.line, `${kw} does not take --${f.name}`);
    else if (kw === 'HEALTHCHECK' && f.name === 'retries' && !/^\d+$/.test(f.value))
      error(inst.line, `--retries=${f.value} is not a number`);
    else if (kw === 'HEALTHCHECK' && f.name !== 'retries' && !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(f.value)) {
      error(inst.line, `--${f.name}=${f.value} is not a duration (e.g. 30s, 1m30s)`);
    }
  }
  if (!body && inst.heredocs.length === 0) error(inst.line, `${kw} needs an argument`);
  if (kw === 'MAINTAINER') warn(inst.line, 'MAINTAINER is deprecated; use LABEL org.opencontainers.image.authors=...');

  if (kw === 'FROM') {
    stages.push({ index: stages.length, line: inst.line, from: inst, insts: [] });
  } else if (stages.length === 0) {
    if (kw === 'ARG') {
      for (const m of body.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=("[^"]*"|\S*))?/g)) {
        globalArgs.set(m[1], m[2]?.replace(/^"(.*)"$/, '$1'));
      }
    } else {
      error(inst.line, `only ARG may come before the first FROM, not ${kw}`);
    }
  } else {
    stages.at(-1).insts.push(inst);
  }
}

checked.push('FROM comes first; every stage is named (AS name), names are unique');
checked.push('base images resolve (global ARGs) to an explicit tag or digest, not :latest');
if (stages.length === 0) error(1, 'no FROM instruction');
const names = new Map();
for (const st of stages) {
  const parts = st.from.body.split(/\s+/);
  const image = parts[0];
  if (parts.length === 3 && parts[1].toUpperCase() === 'AS') {
    st.name = parts[2];
    if (!/^[a-z][a-z0-9._-]*$/.test(st.name)) error(st.line, `stage name "${st.name}" must be lower case [a-z0-9._-]`);
    if (names.has(st.name)) error(st.line, `stage name "${st.name}" is used twice`);
    names.set(st.name, st.index);
  } else if (parts.length === 1) {
    error(st.line, `stage ${st.index} has no name: write FROM ${image} AS <name>`);
  } else {
    error(st.line, `FROM takes "image [AS name]", got: ${st.from.body}`);
  }
  for (const m of image.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) {
    if (!globalArgs.has(m[1])) error(st.line, `FROM uses $${m[1]}, which no ARG before the first FROM declares`);
    else if (globalArgs.get(m[1]) === undefined)
      warn(st.line, `ARG ${m[1]} has no default; the build needs --build-arg ${m[1]}=...`);
  }
  const ref = expand(image, globalArgs);
  st.image = ref;
  if (names.has(ref) && names.get(ref) < st.index) continue; // FROM an earlier stage
  if (ref !== 'scratch' && !/\$/.test(ref)) {
    const last = ref.split('/').at(-1);
    if (!ref.includes('@') && (!last.includes(':') || last.endsWith(':latest'))) {
      error(st.line, `base image "${ref}" has no explicit tag (or uses :latest)`);
    }
  }
}

checked.push('COPY --from names an earlier stage (or an image reference)');
checked.push('COPY/ADD sources from the build context exist and are not excluded by .dockerignore');
checked.push('exec-form arguments are valid JSON arrays; RUN apt-get install is non-interactive');
for (const st of stages) {
  for (const inst of st.insts) {
    const { kw, body, line } = inst;
    if (['CMD', 'ENTRYPOINT', 'RUN', 'SHELL', 'VOLUME', 'COPY', 'ADD'].includes(kw)) {
      const v = execForm(body, line, kw);
      if (kw === 'SHELL' && !v) error(line, 'SHELL must be in JSON form');
      if ((kw === 'CMD' || kw === 'ENTRYPOINT') && !v && body) {
        warn(line, `${kw} in shell form runs under /bin/sh -c, which does not pass SIGTERM on; prefer exec form`);
      }
    }
    if (kw === 'RUN' && /\bapt-get\s+(?:\S+\s+)*install\b/.test(body)) {
      if (!/\s-y\b|--yes\b|--assume-yes\b/.test(body))
        error(line, 'apt-get install without -y would wait for an answer');
      if (!/--no-install-recommends/.test(body)) warn(line, 'apt-get install without --no-install-recommends');
      if (!/rm -rf \/var\/lib\/apt\/lists/.test(body)) warn(line, 'apt-get lists are not removed in the same RUN');
    }
    if (kw === 'COPY' || kw === 'ADD') {
      const from = inst.flags.find((f) => f.name === 'from');
      const srcs = (execForm(body, line, kw) ?? body.split(/\s+/)).slice(0, -1);
      if (srcs.length === 0 && inst.heredocs.length === 0) error(line, `${kw} needs a source and a destination`);
      if (from) {
        const target = expand(from.value, globalArgs);
        const earlier = names.has(target)
          ? names.get(target) < st.index
          : /^\d+$/.test(target) && Number(target) < st.index;
        if (!earlier && !/[:/@]/.test(target)) {
          error(line, `COPY --from=${from.value}: no earlier stage has that name`);
        }
        continue;
      }
      for (const src of srcs) {
        if (/^<</.test(src) || /^(https?|git):\/\//.test(src) || /\$/.test(src)) continue;
        const rel = posix.normalize(src).replace(/^\/+/, '').replace(/\/+$/, '') || '.';
        if (rel.startsWith('..')) {
          error(line, `${kw} source "${src}" is outside the build context`);
          continue;
        }
        if (/[*?[]/.test(rel)) continue; // a pattern: matched by the builder
        const abs = join(context, rel);
        if (!existsSync(abs)) {
          error(line, `${kw} source "${src}" does not exist in the build context`);
        } else if (rel !== '.' && ignored(ignoreRules, rel)) {
          error(line, `${kw} source "${src}" is excluded by .dockerignore`);
        } else if (statSync(abs).isDirectory() && readdirSync(abs).length === 0) {
          warn(line, `${kw} source "${src}" is an empty folder (git does not keep those; a fresh clone lacks it)`);
        }
      }
    }
    if (kw === 'EXPOSE') {
      for (const p of body.split(/\s+/)) {
        if (/\$/.test(p)) continue;
        const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
        if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) error(line, `EXPOSE: "${p}" is not a port`);
      }
    }
    if (kw === 'WORKDIR' && !/^(\/|\$)/.test(body)) warn(line, `WORKDIR ${body} is relative; use an absolute path`);
    if (kw === 'ENV' && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(body))
      warn(line, 'ENV key value (without =) is deprecated; write ENV key=value');
    if (kw === 'STOPSIGNAL' && !/^(SIG[A-Z0-9+-]+|\d+|\$.*)$/.test(body))
      error(line, `STOPSIGNAL: "${body}" is not a signal`);
  }
}

checked.push('final stage: runs as a non-root USER, has a HEALTHCHECK with CMD, and a CMD or ENTRYPOINT');
const final = stages.at(-1);
if (final) {
  const of = (kw) => final.insts.filter((x) => x.kw === kw);
  const users = of('USER');
  const user = users.at(-1)?.body.split(':')[0];
  if (!user) error(final.line, `final stage "${final.name ?? final.index}" has no USER: it would run as root`);
  else if (user === 'root' || user === '0') error(users.at(-1).line, 'final stage runs as root');
  const hcs = of('HEALTHCHECK');
  if (hcs.length === 0) error(final.line, 'final stage has no HEALTHCHECK');
  else {
    if (hcs.length > 1) warn(hcs[1].line, 'more than one HEALTHCHECK: only the last one counts');
    const hc = hcs.at(-1);
    if (/^NONE$/i.test(hc.body)) error(hc.line, 'HEALTHCHECK NONE disables the health check');
    else if (!/^CMD\s+\S/i.test(hc.body)) error(hc.line, 'HEALTHCHECK must be "[options] CMD command"');
    else execForm(hc.body.replace(/^CMD\s+/i, ''), hc.line, 'HEALTHCHECK CMD');
  }
  if (of('CMD').length === 0 && of('ENTRYPOINT').length === 0)
    error(final.line, 'final stage has no CMD or ENTRYPOINT');
  if (of('CMD').length > 1) warn(of('CMD')[1].line, 'more than one CMD: only the last one counts');
}

// ---- report ------------------------------------------------------------------

console.log(
  `check-dockerfile: ${file} (${insts.length} instructions, ${stages.length} stages: ${stages.map((s) => `${s.name ?? s.index} <- ${s.image}`).join(', ')})`,
);
for (const c of checked) console.log(`  checked: ${c}`);
for (const w of warnings.sort(byLine)) console.log(`  warning: ${w.text}`);
for (const e of errors.sort(byLine)) console.log(`  ERROR:   ${e.text}`);
console.log(
  errors.length
    ? `check-dockerfile: ${errors.length} error(s), ${warnings.length} warning(s)`
    : `check-dockerfile: ok (${warnings.length} warning(s))`,
);
process.exit(errors.length ? 1 : 0);
