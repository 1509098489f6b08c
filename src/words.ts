/**
 * Numbers in messages, for the engine's and the CLI's lines alike: 1,234,567, and a noun that
 * agrees with its number (`1 error`, `2 errors`).
 */

/** Not toLocaleString: its first call loads ICU's locale data, 13 ms of every run (a CPU profile of a one-file sync). */
export const count = (n: number): string => {
  const digits = String(Math.trunc(Math.abs(n)));
  const grouped = digits.replace(/\B(?=(\d{3})+$)/g, ",");
  return n < 0 ? `-${grouped}` : grouped;
};

export const plural = (n: number, one: string, many = `${one}s`): string => `${count(n)} ${n === 1 ? one : many}`;
