/** The Loupe API as the page calls it: same origin, the API key (if any) as a Bearer token. */

export interface ModelRef {
  name: string;
  version: string;
}
export interface Label {
  label: string;
  index: number;
  score: number;
}
export interface Timings {
  decode: number;
  preprocess: number;
  queue: number;
  inference: number;
  total: number;
}
/** The server's word that an image is far from what the model was trained on. */
export interface Warning {
  code: string;
  message: string;
}
export interface Prediction {
  id: string;
  model: ModelRef;
  predictions: Label[];
  image: { format: string; width: number; height: number };
  timings_ms: Timings;
  warnings?: Warning[];
}
export interface PredictionRecord extends Omit<Prediction, 'image' | 'warnings'> {
  image: { sha256: string; bytes: number; format: string; width: number; height: number };
  metadata: Record<string, string>;
  job_id: string | null;
  created_at: string;
}
export interface ModelCard {
  trained_on?: string;
  intended_use?: string;
  accuracy?: { top1: number; test_images?: number; dataset?: string };
  samples: Array<{ name: string; url: string }>;
}
export interface ModelInfo {
  name: string;
  default: boolean;
  version: string;
  versions: string[];
  description?: string;
  labels_count: number;
  labels: string[];
  preprocessing: { color: string; width: number; height: number };
  card?: ModelCard;
}
export interface JobItem {
  index: number;
  filename: string | null;
  status: string;
  prediction_id: string | null;
  result: { model: ModelRef; predictions: Label[]; warnings?: Warning[] } | null;
  error: { code: string; message: string } | null;
}
export interface Job {
  id: string;
  status: 'queued' | 'running' | 'completed' | 'failed';
  progress: { total: number; done: number; failed: number };
  items: JobItem[];
}

/** A refused request: the API's error body, the HTTP status and Retry-After. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly code: string;
  readonly requestId: string | undefined;
  readonly retryAfterS: number | undefined;

  constructor(status: number, code: string, message: string, requestId?: string, retryAfterS?: number) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.retryAfterS = retryAfterS;
  }
}

export interface Query {
  [name: string]: string | number | undefined;
}

export function withQuery(path: string, query: Query = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

function retryAfter(res: Response): number | undefined {
  const h = res.headers.get('retry-after');
  if (!h) return undefined;
  const s = Number(h);
  if (Number.isFinite(s)) return Math.max(0, Math.ceil(s));
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** fetch + JSON, throwing ApiError for any answer that is not 2xx (and for no answer at all). */
export async function api<T>(key: string, path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set('accept', 'application/json');
  if (key) headers.set('authorization', `Bearer ${key}`);
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers });
  } catch {
    throw new ApiError(0, 'NETWORK', 'the server could not be reached');
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (res.ok) return body as T;
  throw refusal(res, text, body);
}

function refusal(res: Response, text: string, body: unknown): ApiError {
  const err = (body as { error?: { code?: string; message?: string; request_id?: string } } | undefined)?.error;
  return new ApiError(
    res.status,
    err?.code ?? `HTTP_${res.status}`,
    err?.message ?? (text.slice(0, 200) || res.statusText),
    err?.request_id ?? res.headers.get('x-request-id') ?? undefined,
    retryAfter(res),
  );
}

/** multipart/form-data with each file as a `file` field, and string fields. */
export function uploadForm(files: readonly File[], fields: Record<string, string | undefined> = {}): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) if (v) form.append(k, v);
  for (const f of files) form.append('file', f, f.name);
  return form;
}

/** GET a binary resource (a sample image) with the key, as a File the page can show and upload. */
export async function fetchFile(key: string, path: string, name: string): Promise<File> {
  const headers = new Headers();
  if (key) headers.set('authorization', `Bearer ${key}`);
  let res: Response;
  try {
    res = await fetch(path, { headers });
  } catch {
    throw new ApiError(0, 'NETWORK', 'the server could not be reached');
  }
  if (!res.ok) {
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    throw refusal(res, text, body);
  }
  const blob = await res.blob();
  return new File([blob], name, { type: blob.type });
}
