// The Lambda backend is being written; see issue 4.
export {};
