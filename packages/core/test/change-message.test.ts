import { decodeKeyChangeMessage, encodeKeyChangeMessage } from '@orkesta/auth/store';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('the change message between processes', () => {
  it('is {"o":…,"ids":[…]} and reads back as it was written', () => {
    expect(encodeKeyChangeMessage('origin-1', ['AAAAAAAAAAAA', 'BBBBBBBBBBBB'])).toBe(
      '{"o":"origin-1","ids":["AAAAAAAAAAAA","BBBBBBBBBBBB"]}',
    );
    fc.assert(
      fc.property(fc.string(), fc.array(fc.string()), (origin, ids) => {
        expect(decodeKeyChangeMessage(encodeKeyChangeMessage(origin, ids))).toEqual({
          o: origin,
          ids,
        });
      }),
    );
  });

  it.each([
    ['not a string', 42],
    ['not JSON', '{"o":'],
    ['null', 'null'],
    ['an array', '[]'],
    ['no origin', '{"ids":[]}'],
    ['an origin that is not a string', '{"o":1,"ids":[]}'],
    ['ids that are not a list', '{"o":"x","ids":"AAAA"}'],
    ['an id that is not a string', '{"o":"x","ids":["AAAA",7]}'],
  ])('is refused when %s', (_, raw) => {
    expect(decodeKeyChangeMessage(raw)).toBeUndefined();
  });
});
