/**
 * The storage part of a test family's declaration (test families are not shipped): 15-s
 * samples, hourly chunks, the retention of the shipped families, and rollups named after the key.
 */
export function testFamilyStorage(key: string) {
  return {
    sampleInterval: '15 seconds',
    chunkInterval: '1 hour',
    retention: { raw: '90 days', '5m': '90 days', '1h': '365 days', '1d': '730 days' },
    compressAfter: '7 days',
    rollups: { '5m': `${key}_5m`, '1h': `${key}_1h`, '1d': `${key}_daily` },
  } as const;
}
