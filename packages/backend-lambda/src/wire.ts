// Names shared by the backend and the function it deploys (handler-entry.ts). The backend never imports the entry
// itself: that module only makes sense inside a bundle.

/** The environment variable that carries the object store's settings (set when a bucket is configured). */
export const S3_ENV = "SUPERFAAS_S3";
