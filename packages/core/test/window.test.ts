import { describe, expect, it } from "vitest";
import { ConcurrencyWindow } from "../src/schedule/window.js";

describe("ConcurrencyWindow", () => {
  it("starts at the run's concurrency, and at one slot for a concurrency below one", () => {
    const w = new ConcurrencyWindow(8);
    expect(w.slots).toBe(8);
    expect(w.shrunk).toBe(false);
    expect(new ConcurrencyWindow(0).slots).toBe(1);
  });

  it("halves on every throttle, never below one slot", () => {
    const w = new ConcurrencyWindow(8);
    w.shrink();
    expect(w.slots).toBe(4);
    expect(w.shrunk).toBe(true);
    for (let i = 0; i < 10; i++) w.shrink();
    expect(w.size).toBe(1);
    expect(w.slots).toBe(1);
  });

  it("grows back by about one slot per window's worth of successes, and not past the concurrency", () => {
    const w = new ConcurrencyWindow(8);
    w.shrink(); // 4
    for (let i = 0; i < 4; i++) w.grow();
    expect(w.slots).toBe(4); // 4 + 4·(1/4 .. 1/5) is just under 5
    w.grow();
    expect(w.slots).toBe(5);
    for (let i = 0; i < 100; i++) w.grow();
    expect(w.size).toBe(8);
    expect(w.shrunk).toBe(false);
  });

  it("does not grow a window that was never shrunk", () => {
    const w = new ConcurrencyWindow(3);
    w.grow();
    expect(w.size).toBe(3);
  });
});
