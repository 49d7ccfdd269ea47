/** Why a request was refused: AWS's status, error type and message. */
export declare class SignatureError extends Error {
  constructor(status: number, type: string, message: string);
  status: number;
  type: string;
}

/** Makes a verifier of AWS Signature Version 4 for one region and service that knows the given credentials. */
export declare function sigV4Verifier(o: {
  region: string;
  service: string;
  credentials: Array<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;
  now?: () => number;
}): (req: import("node:http").IncomingMessage, body: Buffer) => Promise<void>;
