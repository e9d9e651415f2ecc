/**
 * The floor every lateness figure stands beside: bare `setTimeout`s aimed at
 * each second boundary (re-armed when early), `count` per instant, for
 * `seconds` instants from `startAt` (a second boundary; default the second
 * after next). Resolves with each timer's lateness in ms.
 */
export async function bareTimers(count: number, seconds: number, startAt?: number): Promise<number[]> {
  const late: number[] = [];
  const start = startAt ?? Math.ceil(Date.now() / 1000) * 1000 + 1000;
  await new Promise<void>((resolve) => {
    let left = count * seconds;
    const arm = (at: number): void => {
      const fire = (): void => {
        const now = Date.now();
        if (now < at) {
          setTimeout(fire, at - now);
          return;
        }
        late.push(now - at);
        if (--left === 0) resolve();
      };
      setTimeout(fire, at - Date.now());
    };
    for (let s = 0; s < seconds; s++) for (let i = 0; i < count; i++) arm(start + s * 1000);
  });
  return late;
}
