// How long a watched endpoint went without answering the lab's LAN neighbour, from `ping -D` output. Pure.

/** Longer than this without an answer, and a LAN neighbour (an operator's SSH session) has noticed: a failure. */
export const MAX_OUTAGE_SECONDS = 2;

export interface Outage {
  /** The endpoint's id, as the matrix names it. */
  endpoint: string;
  ip: string;
  /** The longest time without an answer: between two answers, before the first or after the last one. */
  longestSeconds: number;
  /** It had not answered again when the watch ended. */
  silentAtEnd: boolean;
  answers: number;
}

/** When each answer arrived (ping -D puts the time in front of every line). */
export function answerTimes(pingOutput: string): number[] {
  return [...pingOutput.matchAll(/^\[(\d+(?:\.\d+)?)\] \d+ bytes from /gm)].map((match) => Number(match[1]));
}

/** The longest silence between `start` and `end` with answers at `answers` (sorted, in seconds). */
export function longestSilence(answers: number[], start: number, end: number): number {
  const times = [start, ...answers.filter((time) => time >= start && time <= end), end];
  return Math.max(...times.slice(1).map((time, i) => time - (times[i] ?? time)));
}

export function outageOf(endpoint: { id: string; ip: string }, pingOutput: string, watched: { start: number; end: number }): Outage {
  const answers = answerTimes(pingOutput);
  const last = answers[answers.length - 1];
  return {
    endpoint: endpoint.id,
    ip: endpoint.ip,
    longestSeconds: longestSilence(answers, watched.start, watched.end),
    silentAtEnd: last === undefined || watched.end - last > MAX_OUTAGE_SECONDS,
    answers: answers.length,
  };
}

export const isOutage = (outage: Outage): boolean => outage.longestSeconds > MAX_OUTAGE_SECONDS;
