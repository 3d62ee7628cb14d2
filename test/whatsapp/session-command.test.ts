import { describe, expect, it } from 'vitest';
import { commandPayload, storedCommand, type SessionCommand } from '../../src/whatsapp/session-command.js';

// Commands cross processes as a kind column and a JSON payload; what is read back is checked.
describe('session commands as stored', () => {
  const commands: SessionCommand[] = [
    { kind: 'stop' },
    { kind: 'restart' },
    { kind: 'logout' },
    { kind: 'pair-code', phoneNumber: '4917012345678' },
    { kind: 'reupload', mediaId: 'med_1' },
  ];

  it.each(commands)('$kind survives the round trip', (command) => {
    const payload = commandPayload(command);
    expect(payload === null).toBe(Object.keys(command).length === 1);
    expect(storedCommand(command.kind, payload)).toEqual(command);
  });

  it('refuses a payload that does not fit its kind', () => {
    expect(() => storedCommand('pair-code', null)).toThrow(/phoneNumber/);
    expect(() => storedCommand('reupload', JSON.stringify({ mediaId: 7 }))).toThrow(/mediaId/);
  });
});
