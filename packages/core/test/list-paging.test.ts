import { describe, expect, it } from 'vitest';
import type { ApiKeyRecord } from '../src/index.js';
import {
  checkListQuery,
  decodeListCursor,
  encodeListCursor,
  listKeysSql,
  pageOf,
  rateLimitJson,
  recordFromRow,
  statusCondition,
} from '../src/store.js';
import { sampleKeyRecord } from '../src/testing.js';

const now = new Date(Date.UTC(2026, 0, 1));

function codeOf(call: () => unknown): string {
  try {
    call();
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? 'thrown';
  }
}

describe('checkListQuery', () => {
  it('takes a limit from 1 to 1000 and a known status; refuses the rest as invalid_key_parameters', () => {
    expect(codeOf(() => checkListQuery({ now, limit: 1 }))).toBe('ok');
    expect(codeOf(() => checkListQuery({ now, limit: 1000, status: 'active' }))).toBe('ok');
    for (const limit of [0, 1001, 1.5, -1, Number.NaN]) {
      expect(codeOf(() => checkListQuery({ now, limit }))).toBe('invalid_key_parameters');
    }
    expect(codeOf(() => checkListQuery({ now, limit: 1, status: 'paused' as never }))).toBe(
      'invalid_key_parameters',
    );
  });

  it('needs a valid now for a status judged at an instant, and none for revoked', () => {
    const invalid = new Date(Number.NaN);
    expect(codeOf(() => checkListQuery({ now: invalid, limit: 1, status: 'active' }))).toBe(
      'invalid_key_parameters',
    );
    expect(codeOf(() => checkListQuery({ now: invalid, limit: 1, status: 'revoked' }))).toBe('ok');
  });

  it('returns the position of a cursor, and refuses one no store made', () => {
    const position = { createdAt: now, id: 'abcdefABCDEF' };
    expect(checkListQuery({ now, limit: 1, cursor: encodeListCursor(position) })).toEqual(position);
    expect(checkListQuery({ now, limit: 1 })).toBeUndefined();
    for (const cursor of ['nope', encodeListCursorText('x:'), encodeListCursorText(':id')]) {
      expect(codeOf(() => checkListQuery({ now, limit: 1, cursor }))).toBe(
        'invalid_key_parameters',
      );
    }
    expect(decodeListCursor(encodeListCursorText('5:a:b'))).toEqual({
      createdAt: new Date(5),
      id: 'a:b',
    });
  });
});

function encodeListCursorText(text: string): string {
  return Buffer.from(text).toString('base64url');
}

describe('pageOf', () => {
  const records = [0, 1, 2].map((i) => sampleKeyRecord({ createdAt: new Date(now.getTime() - i) }));

  it('gives the first `limit` items and a cursor at the last when more were fetched', () => {
    const page = pageOf(records, 2, (record) => record);
    expect(page.items).toEqual(records.slice(0, 2));
    expect(decodeListCursor(page.nextCursor!)).toEqual({
      createdAt: records[1]!.createdAt,
      id: records[1]!.id,
    });
  });

  it('gives no cursor when nothing follows', () => {
    expect(pageOf(records, 3, (record) => record)).toEqual({ items: records });
    expect(pageOf([], 3, (record: ApiKeyRecord) => record)).toEqual({ items: [] });
  });
});

describe('the SQL stores’ shared rows', () => {
  const row = {
    id: 'abcdefABCDEF',
    workspace_id: 'ws_1',
    name: 'erp',
    scope: 'admin' as const,
    environment: 'live' as const,
    hash: 'sha256$x',
    created_at: 1_000,
    expires_at: null,
    revoked_at: new Date(3_000),
    last_used_at: 2_000,
    rotated_from_id: null,
    rate_limit: null,
  };

  it('maps a row with epoch-ms or Date dates to a record, and no rate to no field', () => {
    const record = recordFromRow(row);
    expect(record).toEqual({
      id: 'abcdefABCDEF',
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'admin',
      environment: 'live',
      hash: 'sha256$x',
      createdAt: new Date(1_000),
      expiresAt: null,
      revokedAt: new Date(3_000),
      lastUsedAt: new Date(2_000),
      rotatedFromId: null,
    });
    expect(record).not.toHaveProperty('rateLimit');
  });

  it('reads a rate as JSON text or as an object, and writes its three fields only', () => {
    const rate = { limit: 5, windowSeconds: 60, burst: 2 };
    expect(recordFromRow({ ...row, rate_limit: JSON.stringify(rate) }).rateLimit).toEqual(rate);
    expect(recordFromRow({ ...row, rate_limit: rate }).rateLimit).toEqual(rate);
    expect(rateLimitJson({ ...rate, extra: 1 } as never)).toBe(JSON.stringify(rate));
    expect(rateLimitJson({ limit: 5, windowSeconds: 60 })).toBe('{"limit":5,"windowSeconds":60}');
    expect(rateLimitJson(null)).toBeNull();
    expect(rateLimitJson(undefined)).toBeNull();
    expect(codeOf(() => rateLimitJson(5 as never))).toBe('invalid_key_parameters');
  });

  it('judges status as keyStatus does: revoked wins, expiry at its instant', () => {
    expect(statusCondition('revoked', '@now')).toBe('revoked_at IS NOT NULL');
    expect(statusCondition('expired', '$1')).toBe(
      '(revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $1)',
    );
    expect(statusCondition('active', '@now')).toBe(
      '(revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now))',
    );
  });

  it('builds one page of a listing, each filter only when its placeholder is given', () => {
    expect(listKeysSql('t', { fetch: '$1' })).toBe(
      'SELECT id, workspace_id, name, scope, environment, hash, created_at, expires_at, revoked_at, last_used_at, rotated_from_id, rate_limit FROM t ORDER BY created_at DESC, id ASC LIMIT $1',
    );
    expect(
      listKeysSql('t', {
        workspaceId: '@w',
        status: 'active',
        now: '@now',
        after: { createdAt: '@c', id: '@i' },
        fetch: '@f',
      }),
    ).toContain(
      'WHERE workspace_id = @w AND (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)) AND (created_at < @c OR (created_at = @c AND id > @i)) ORDER BY',
    );
  });
});
