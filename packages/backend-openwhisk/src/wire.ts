// Names shared by the backend and the action it deploys (action-entry.ts). The backend never imports the entry
// itself: that module only makes sense inside a bundle.

/** The action parameter that carries the object store's settings (bound to the action when a bucket is configured). */
export const S3_PARAM = "__superfaas_s3";
