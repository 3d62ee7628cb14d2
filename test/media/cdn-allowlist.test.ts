import { describe, expect, it } from 'vitest';
import { DEFAULT_CDN_ALLOWLIST, isAllowedOrigin, parseAllowlist } from '../../src/media/cdn-allowlist.js';

const allowed = (spec: string, url: string): boolean => isAllowedOrigin(new URL(url), parseAllowlist(spec));

describe('parseAllowlist', () => {
  it('parses exact, wildcard-label and wildcard-port entries, normalising hosts and default ports', () => {
    expect(parseAllowlist(' HTTPS://MMG.WhatsApp.net:443 , https://*.cdn.whatsapp.net,http://127.1:*,')).toEqual([
      { protocol: 'https:', wildcardLabels: 0, host: 'mmg.whatsapp.net', port: '' },
      { protocol: 'https:', wildcardLabels: 1, host: 'cdn.whatsapp.net', port: '' },
      { protocol: 'http:', wildcardLabels: 0, host: '127.0.0.1', port: '*' },
    ]);
  });

  it.each([
    '',
    ' , ',
    'mmg.whatsapp.net',
    'ftp://mmg.whatsapp.net',
    'https://mmg.whatsapp.net/v/t62',
    'https://mmg.whatsapp.net?x=1',
    'https://user@mmg.whatsapp.net',
    'https://*',
    'https://*.net',
    'https://a.*.whatsapp.net',
    'https://*mmg.whatsapp.net',
    'https://*.127.0.0.1',
    'https://*.[::1]',
    'https://mmg.whatsapp.net:0',
    'https://mmg.whatsapp.net:65536',
    'https://mmg.whatsapp.net:*8',
    'http://127.0.0.1:',
  ])('rejects %j with a message naming the entry', (spec) => {
    expect(() => parseAllowlist(spec)).toThrow(/CDN allowlist/);
  });
});

describe('isAllowedOrigin', () => {
  it('a * label matches exactly one DNS label', () => {
    const spec = 'https://*.example.com';
    expect(allowed(spec, 'https://a.example.com/x')).toBe(true);
    expect(allowed(spec, 'https://media-gru1-1.example.com/x')).toBe(true);
    expect(allowed(spec, 'https://example.com/x')).toBe(false);
    expect(allowed(spec, 'https://a.b.example.com/x')).toBe(false);
    expect(allowed(spec, 'https://aexample.com/x')).toBe(false);
    expect(allowed(spec, 'http://a.example.com/x')).toBe(false);
    expect(allowed(spec, 'https://a.example.com:8443/x')).toBe(false);
    expect(allowed('https://*.*.example.com', 'https://a.b.example.com/x')).toBe(true);
    expect(allowed('https://*.*.example.com', 'https://b.example.com/x')).toBe(false);
  });

  it('a * port matches any port, including the default one, but never another host or scheme', () => {
    const spec = 'http://127.0.0.1:*';
    expect(allowed(spec, 'http://127.0.0.1:8080/x')).toBe(true);
    expect(allowed(spec, 'http://127.0.0.1/x')).toBe(true);
    expect(allowed(spec, 'http://127.0.0.2:8080/x')).toBe(false);
    expect(allowed(spec, 'https://127.0.0.1:8080/x')).toBe(false);
    expect(allowed(spec, 'http://localhost:8080/x')).toBe(false);
  });

  it('compares hosts after WHATWG normalisation (IPv4 shorthands, case, default ports)', () => {
    expect(allowed('http://127.0.0.1:*', 'http://127.1:80/x')).toBe(true);
    expect(allowed('http://127.0.0.1:*', 'http://0x7f.0.0.1:9/x')).toBe(true);
    expect(allowed('http://127.0.0.1:*', 'http://2130706433:9/x')).toBe(true);
    expect(allowed('http://[::1]:*', 'http://[0:0:0:0:0:0:0:1]:9/x')).toBe(true);
    expect(allowed('http://127.0.0.1:*', 'http://[::ffff:127.0.0.1]:9/x')).toBe(false);
    expect(allowed('https://mmg.whatsapp.net', 'https://MMG.WhatsApp.NET:443/x')).toBe(true);
    expect(allowed('https://mmg.whatsapp.net:443', 'https://mmg.whatsapp.net/x')).toBe(true);
    expect(allowed('http://cdn.test:80', 'http://cdn.test:8080/x')).toBe(false);
  });

  it('refuses look-alike hosts, user info and port tricks', () => {
    const spec = DEFAULT_CDN_ALLOWLIST;
    expect(allowed(spec, 'https://evil.com.whatsapp.net.attacker.com/x')).toBe(false);
    expect(allowed(spec, 'https://whatsapp.net@evil.com/x')).toBe(false);
    expect(allowed(spec, 'https://mmg.whatsapp.net@evil.com/x')).toBe(false);
    expect(allowed(spec, 'https://mmg.whatsapp.net:443@evil.com/x')).toBe(false);
    expect(allowed(spec, 'https://user:pw@mmg.whatsapp.net/x')).toBe(false);
    expect(allowed(spec, 'https://mmg.whatsapp.net:8443/x')).toBe(false);
    expect(allowed(spec, 'https://mmg.whatsapp.net./x')).toBe(false);
    expect(allowed(spec, 'https://evilwhatsapp.net/x')).toBe(false);
    expect(allowed(spec, 'https://whatsapp.net/x')).toBe(false);
    expect(allowed(spec, 'http://mmg.whatsapp.net/x')).toBe(false);
    expect(allowed(spec, 'https://mmg.whatsapp.net.evil.com/x')).toBe(false);
  });

  it('the default list covers the WhatsApp media hosts over https', () => {
    const spec = DEFAULT_CDN_ALLOWLIST;
    expect(allowed(spec, 'https://mmg.whatsapp.net/v/t62.7118-24/1.enc?ccb=11-4')).toBe(true);
    expect(allowed(spec, 'https://mmg-fallback.whatsapp.net/v/x')).toBe(true);
    expect(allowed(spec, 'https://media-gru1-1.cdn.whatsapp.net/v/x')).toBe(true);
    expect(allowed(spec, 'https://media.fgru3-1.fna.whatsapp.net/v/x')).toBe(true);
    expect(allowed(spec, 'https://a.b.c.fna.whatsapp.net/v/x')).toBe(false);
    expect(allowed(spec, 'https://a.b.whatsapp.net/v/x')).toBe(false);
  });
});
