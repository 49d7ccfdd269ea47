import { describe, expect, it } from "vitest";
import { StartsPerMinute } from "../src/schedule/rate.js";

describe("StartsPerMinute", () => {
  it("has room until the last minute holds the cap's count of starts", () => {
    const r = new StartsPerMinute(3);
    expect(r.hasRoom(0)).toBe(true);
    r.record(0);
    r.record(10);
    expect(r.hasRoom(20)).toBe(true);
    r.record(20);
    expect(r.hasRoom(30)).toBe(false);
  });

  it("makes room when the oldest start leaves the sliding minute, and says when that is", () => {
    const r = new StartsPerMinute(2);
    r.record(1_000);
    r.record(5_000);
    expect(r.hasRoom(60_999)).toBe(false);
    expect(r.nextRoomAt).toBe(61_000);
    expect(r.hasRoom(61_000)).toBe(true);
    expect(r.nextRoomAt).toBe(65_000);
  });

  it("counts correctly across the batches in which it drops old starts", () => {
    const r = new StartsPerMinute(10);
    // 5000 starts, one a second: at any time the last minute holds 60 of them (more than the cap).
    for (let t = 0; t < 5_000_000; t += 1_000) {
      expect(r.hasRoom(t)).toBe(t < 10_000);
      r.record(t);
    }
    // An hour later the minute is empty again.
    expect(r.hasRoom(5_000_000 + 3_600_000)).toBe(true);
  });
});
