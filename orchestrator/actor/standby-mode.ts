/** Whether the platform started this run in Standby mode (kept apart so batch runs load no server code). */
export function isStandby(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.APIFY_META_ORIGIN === 'STANDBY';
}
