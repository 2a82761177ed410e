/**
 * Seeded randomness for tests: the same seed gives the same sequence, so a failing run can be
 * replayed. Park–Miller (minimal standard) generator; values in (0, 1).
 */
export function rng(seed: number): () => number {
  let x = seed % 2147483647 || 1;
  return () => (x = (x * 48271) % 2147483647) / 2147483647;
}

/** Integers in [0, n) from a seeded generator. */
export function intRng(seed: number): (n: number) => number {
  const r = rng(seed);
  return (n) => Math.floor(r() * n);
}

/** The seed for a randomized test: LTS_SEED when set (to replay a failure), else a fresh one. */
export function testSeed(): number {
  const fromEnv = Number(process.env.LTS_SEED);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 1 + Math.floor(Math.random() * 2147483646);
}

/** Runs `fn` with a seeded generator; a failure's message starts with the seed and how to replay it. */
export async function withSeed<T>(what: string, fn: (random: () => number) => Promise<T>): Promise<T> {
  const seed = testSeed();
  try {
    return await fn(rng(seed));
  } catch (err) {
    if (err instanceof Error) err.message = `${what}: seed ${seed} (replay with LTS_SEED=${seed}): ${err.message}`;
    throw err;
  }
}
