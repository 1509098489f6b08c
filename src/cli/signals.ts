/**
 * Ctrl+C and SIGTERM abort the run at the next file boundary; a second Ctrl+C exits at once.
 * `sleep` waits between interval ticks and returns true when a stop came in.
 */
export function stopSignal() {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    sleep(ms: number): Promise<boolean> {
      if (controller.signal.aborted) return Promise.resolve(true);
      return new Promise((resolve) => {
        // Each tick's listener must go again, or a long --interval loop piles them up.
        const done = () => {
          clearTimeout(timer);
          controller.signal.removeEventListener("abort", done);
          resolve(controller.signal.aborted);
        };
        const timer = setTimeout(done, ms);
        controller.signal.addEventListener("abort", done, { once: true });
      });
    },
    dispose() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
