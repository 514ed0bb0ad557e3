// The benchmark harness's own pure helpers: medians, ratios, verdicts, formatting, and the
// flood's assertions. No timing here: figures are the benchmarks' business, not the tests'.

import { describe, expect, it } from 'vitest';
import {
  formatInteger,
  formatMegabytes,
  formatRatio,
  formatVerdicts,
  markdownTable,
  median,
  positiveNumber,
  ratio,
  verdict,
  verdictRow,
} from '../common.mjs';
import { floodFailures } from '../flood.mjs';
import { answeredVerdict, compare, perfCount } from '../http.mjs';

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones, whatever the order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('is NaN for no values, and leaves its input as it was', () => {
    expect(median([])).toBeNaN();
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('ratio', () => {
  it('divides positive finite numbers', () => {
    expect(ratio(9, 10)).toBeCloseTo(0.9);
  });

  it('is NaN when a side was not measured or the base is not positive', () => {
    expect(ratio(Number.NaN, 1)).toBeNaN();
    expect(ratio(1, Number.NaN)).toBeNaN();
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(1, -1)).toBeNaN();
  });
});

describe('verdict and verdictRow', () => {
  it('higher is better: below the floor fails, between floor and aim passes, at the aim meets it', () => {
    expect(verdict(0.89, 0.9, 0.95)).toEqual({ pass: false, mark: 'FAIL (below floor)' });
    expect(verdict(0.9, 0.9, 0.95)).toEqual({ pass: true, mark: 'pass (floor met, aim not)' });
    expect(verdict(0.95, 0.9, 0.95)).toEqual({ pass: true, mark: 'pass (aim met)' });
  });

  it('lower is better: above the ceiling fails', () => {
    const ceiling = { lowerIsBetter: true };
    expect(verdict(33e6, 32e6, 32e6, ceiling)).toEqual({
      pass: false,
      mark: 'FAIL (above ceiling)',
    });
    expect(verdict(32e6, 32e6, 32e6, ceiling).pass).toBe(true);
  });

  it('a figure that was not measured never passes', () => {
    expect(verdict(Number.NaN, 0.9, 0.95).pass).toBe(false);
    expect(verdict(Number.NaN, 32e6, 32e6, { lowerIsBetter: true }).pass).toBe(false);
  });

  it('writes bounds with their direction, and a row without a floor only reports', () => {
    expect(
      verdictRow({
        figure: 'auth / bare',
        value: 0.912,
        floor: 0.9,
        aim: 0.95,
        format: formatRatio,
      }),
    ).toEqual({
      figure: 'auth / bare',
      floor: '≥ 0.900',
      aim: '≥ 0.950',
      measured: '0.912',
      mark: 'pass (floor met, aim not)',
      pass: true,
    });
    const rss = verdictRow({
      figure: 'RSS',
      value: 40e6,
      floor: 32e6,
      format: formatMegabytes,
      lowerIsBetter: true,
    });
    expect(rss).toMatchObject({ floor: '≤ +32.0 MB', aim: '≤ +32.0 MB', pass: false });
    expect(verdictRow({ figure: 'koa', value: 0.8, format: formatRatio })).toEqual({
      figure: 'koa',
      floor: '—',
      aim: '—',
      measured: '0.800',
      mark: 'reported',
      pass: true,
    });
  });
});

describe('formatting', () => {
  it('formats integers with separators, ratios to three places, megabytes signed', () => {
    expect(formatInteger(1234567.6)).toBe('1,234,568');
    expect(formatInteger(Number.NaN)).toBe('NaN');
    expect(formatRatio(0.91849)).toBe('0.918');
    expect(formatRatio(Number.NaN)).toBe('n/a');
    expect(formatMegabytes(12_345_678)).toBe('+12.3 MB');
    expect(formatMegabytes(-2_000_000)).toBe('−2.0 MB');
  });

  it('writes markdown tables with right-aligned numeric columns', () => {
    expect(markdownTable(['case', 'ops/s'], [['a', '1']], { rightAligned: [1] })).toBe(
      '| case | ops/s |\n| --- | --: |\n| a | 1 |',
    );
    expect(
      formatVerdicts([
        { figure: 'f', floor: '≥ 1', aim: '≥ 2', measured: '3', mark: 'pass (aim met)' },
      ]),
    ).toBe(
      '| figure | floor | aim | measured | result |\n|---|--:|--:|--:|---|\n| f | ≥ 1 | ≥ 2 | 3 | pass (aim met) |',
    );
  });
});

describe('positiveNumber', () => {
  it('reads a positive number, or the fallback when unset or empty', () => {
    expect(positiveNumber({ N: '2.5' }, 'N', 9)).toBe(2.5);
    expect(positiveNumber({}, 'N', 9)).toBe(9);
    expect(positiveNumber({ N: '' }, 'N', 9)).toBe(9);
  });

  it('refuses anything else, naming the variable', () => {
    expect(() => positiveNumber({ N: '0' }, 'N', 9)).toThrow(/N must be a positive number/);
    expect(() => positiveNumber({ N: 'x' }, 'N', 9)).toThrow(/N/);
    expect(() => positiveNumber({ N: '1.5' }, 'N', 9, { integer: true })).toThrow(/integer/);
  });
});

describe('HTTP comparisons', () => {
  const result = {
    group: 'Express',
    medians: {
      bare: { requestsPerSecond: 3000, serverCpuMicrosPerRequest: 300 },
      auth: { requestsPerSecond: 2800, serverCpuMicrosPerRequest: 320 },
    },
    rounds: [
      { completed: 1000, non2xx: 0 },
      { completed: 2000, non2xx: 5 },
    ],
    pairs: [
      {
        of: 'auth',
        over: 'bare',
        cpuRatio: 0.95,
        cpuRatioLowest: 0.93,
        cpuRatioHighest: 0.95,
        requestsRatio: 0.97,
        windows: [
          { mode: 'auth', completed: 400, non2xx: 0 },
          { mode: 'bare', completed: 600, non2xx: 1 },
        ],
        rounds: [{ cpuRatio: 0.95, requestsRatio: 0.97 }],
      },
    ],
    ok: false,
  };

  it('compares median req/s, and server CPU per request inverted, of two modes', () => {
    const c = compare(result, 'auth', 'bare');
    expect(c.requestsPerSecond).toBeCloseTo(2800 / 3000);
    expect(c.cpuPerRequest).toBeCloseTo(300 / 320);
    expect(c.cpuCostMicros).toBeCloseTo(20);
  });

  it('takes the paired rounds of the pair measured so, and NaN for a pair that was not', () => {
    expect(compare(result, 'auth', 'bare')).toMatchObject({
      paired: 0.95,
      pairedLowest: 0.93,
      pairedHighest: 0.95,
      pairedRequests: 0.97,
    });
    expect(compare(result, 'bare', 'auth').paired).toBeNaN();
  });

  it('counts the requests answered 200 over every round, paired rounds too', () => {
    expect(answeredVerdict(result)).toMatchObject({
      figure: 'Express: every request answered 200',
      measured: '3,994 of 4,000',
      pass: false,
    });
  });
});

describe('flood assertions', () => {
  const clean = {
    kind: 'random',
    tokens: 1_000_000,
    codes: { invalid_api_key: 1_000_000 },
    otherCodes: { invalid_api_key: 7_000 },
    floodLookups: 1_000_000,
    warmUpLookups: 2_000,
    replayed: 5_000,
    replayLookups: 0,
    validAdmittedAfter: true,
  };

  it('hold for at most one lookup per random key, none when resent, every answer a 401', () => {
    expect(floodFailures(clean)).toEqual([]);
  });

  it('fail for more lookups than keys, a lookup for a resent key, or another answer', () => {
    expect(floodFailures({ ...clean, floodLookups: 1_000_001 })).toHaveLength(1);
    expect(floodFailures({ ...clean, replayLookups: 3 })).toHaveLength(1);
    expect(
      floodFailures({ ...clean, codes: { invalid_api_key: 999_999, auth_unavailable: 1 } }),
    ).toHaveLength(1);
    expect(floodFailures({ ...clean, otherCodes: { too_many_failed_attempts: 1 } })).toHaveLength(
      1,
    );
    expect(floodFailures({ ...clean, validAdmittedAfter: false })).toHaveLength(1);
  });

  it('fail for any lookup made for a bad checksum, in the flood or its warm-up', () => {
    const badChecksum = {
      ...clean,
      kind: 'bad-checksum',
      floodLookups: 0,
      warmUpLookups: 0,
      replayed: 0,
    };
    expect(floodFailures(badChecksum)).toEqual([]);
    expect(floodFailures({ ...badChecksum, floodLookups: 1 })).toHaveLength(1);
    expect(floodFailures({ ...badChecksum, warmUpLookups: 1 })).toHaveLength(1);
  });
});

describe('perfCount', () => {
  const report = [
    '',
    '1234567,,instructions:u,1000000,100.00,,',
    '<not counted>,,instructions:k,0,0.00,,',
    '',
  ].join('\n');

  it('reads the count of an event from `perf stat -x ,` output', () => {
    expect(perfCount(report, 'instructions:u')).toBe(1_234_567);
  });

  it('is NaN for an event perf did not count or did not print', () => {
    expect(perfCount(report, 'instructions:k')).toBeNaN();
    expect(perfCount(report, 'cycles:u')).toBeNaN();
  });
});
