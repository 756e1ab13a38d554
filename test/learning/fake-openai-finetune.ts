/**
 * A local stand-in for OpenAI's files and fine-tuning API, as the official SDK calls it:
 *   POST /v1/files                          multipart (file, purpose) → a file object
 *   POST /v1/fine_tuning/jobs               JSON → a fine_tuning.job (validating_files)
 *   GET  /v1/fine_tuning/jobs/:id           each read moves the job on: running, then succeeded
 *   GET  /v1/fine_tuning/jobs/:id/events    a list of fine_tuning.job.event, with metrics steps
 *   POST /v1/chat/completions               an intent answer, recording the model asked for
 * Requests without the expected Bearer key get OpenAI's 401 error body.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeFineTuneServer {
  baseURL: string;
  apiKey: string;
  files: { id: string; filename: string; purpose: string; content: string }[];
  jobs: Map<string, Record<string, unknown> & { reads: number }>;
  created: Record<string, unknown>[];
  chatModels: string[];
  /** The next job fails validation instead of succeeding. */
  failNext: boolean;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${Math.random().toString(36).slice(2)}` });
  res.end(JSON.stringify(body));
}

function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
      } catch (err) {
        reject(err);
      }
    });
  });
}

export async function startFakeFineTuneServer(): Promise<FakeFineTuneServer> {
  const apiKey = 'sk-test-finetune';
  let seq = 0;
  const now = () => 1_764_000_000 + seq;
  const state: FakeFineTuneServer = { baseURL: '', close: async () => undefined, apiKey, files: [], jobs: new Map(), created: [], chatModels: [], failNext: false };

  const server = http.createServer((req, res) => {
    void (async () => {
      if (req.headers.authorization !== `Bearer ${apiKey}`) {
        return send(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'POST' && url.pathname === '/v1/files') {
        // The multipart body, parsed by the platform's own FormData reader.
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const form = await new Request('http://fake/v1/files', { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body: Buffer.concat(chunks) }).formData();
        const part = form.get('file');
        const fields = { purpose: String(form.get('purpose') ?? '') };
        const file = part instanceof Blob ? { filename: (part as File).name, content: await part.text() } : undefined;
        if (!file || fields.purpose !== 'fine-tune') return send(res, 400, { error: { message: 'file and purpose=fine-tune are required', type: 'invalid_request_error', param: 'purpose', code: null } });
        const id = `file-${++seq}`;
        state.files.push({ id, filename: file.filename, purpose: fields.purpose, content: file.content });
        return send(res, 200, { id, object: 'file', bytes: Buffer.byteLength(file.content), created_at: now(), filename: file.filename, purpose: 'fine-tune', status: 'processed', expires_at: null });
      }
      if (req.method === 'POST' && url.pathname === '/v1/fine_tuning/jobs') {
        const body = await readJson(req);
        state.created.push(body);
        if (!state.files.some((f) => f.id === body.training_file)) {
          return send(res, 400, { error: { message: `invalid training_file: ${String(body.training_file)}`, type: 'invalid_request_error', param: 'training_file', code: null } });
        }
        const id = `ftjob-${++seq}`;
        const hp = ((body.method as { supervised?: { hyperparameters?: Record<string, unknown> } } | undefined)?.supervised?.hyperparameters ?? {}) as Record<string, unknown>;
        const job = {
          id,
          object: 'fine_tuning.job',
          model: body.model,
          created_at: now(),
          finished_at: null,
          fine_tuned_model: null,
          organization_id: 'org-acuerdo',
          result_files: [],
          status: 'validating_files',
          validation_file: null,
          training_file: body.training_file,
          hyperparameters: { n_epochs: hp.n_epochs ?? 'auto', learning_rate_multiplier: hp.learning_rate_multiplier ?? 'auto', batch_size: 'auto' },
          method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: hp.n_epochs ?? 3, learning_rate_multiplier: hp.learning_rate_multiplier ?? 1.8, batch_size: 1 } } },
          trained_tokens: null,
          error: null,
          seed: 42,
          estimated_finish: null,
          integrations: [],
          user_provided_suffix: body.suffix ?? null,
          metadata: null,
          reads: 0,
          fails: state.failNext,
        };
        state.failNext = false;
        state.jobs.set(id, job);
        const { reads: _r, fails: _f, ...visible } = job;
        return send(res, 200, visible);
      }
      const jobMatch = /^\/v1\/fine_tuning\/jobs\/([^/]+)(\/events)?$/.exec(url.pathname);
      if (req.method === 'GET' && jobMatch) {
        const job = state.jobs.get(jobMatch[1]!);
        if (!job) return send(res, 404, { error: { message: 'No such job', type: 'invalid_request_error', param: null, code: null } });
        if (jobMatch[2]) {
          const total = 30;
          const step = job.status === 'succeeded' ? total : job.status === 'running' ? 15 : 0;
          const data = step
            ? [{ id: `ftevent-${job.id}-${step}`, object: 'fine_tuning.job.event', created_at: now(), level: 'info', message: `Step ${step}/${total}: training loss=0.42`, type: 'metrics', data: { step, total_steps: total, train_loss: 0.42 } }]
            : [];
          data.push({ id: `ftevent-${job.id}-0`, object: 'fine_tuning.job.event', created_at: now(), level: 'info', message: 'Validating training file', type: 'message', data: {} as never });
          return send(res, 200, { object: 'list', data, has_more: false });
        }
        job.reads++;
        if (job.reads === 1) job.status = 'running';
        else if (job.reads >= 2 && job.status === 'running') {
          if (job.fails) {
            job.status = 'failed';
            job.error = { code: 'invalid_training_file', message: 'The file has too few examples', param: 'training_file' };
          } else {
            job.status = 'succeeded';
            job.fine_tuned_model = `ft:${String(job.model)}:acuerdo:acuerdo:${String(job.id).slice(-4)}`;
            job.trained_tokens = 12_345;
          }
          job.finished_at = now();
        }
        const { reads: _r, fails: _f, ...visible } = job;
        return send(res, 200, visible);
      }
      if (req.method === 'POST' && url.pathname === '/v1/chat/completions') {
        const body = await readJson(req);
        state.chatModels.push(String(body.model));
        return send(res, 200, {
          id: `chatcmpl-${++seq}`,
          object: 'chat.completion',
          created: now(),
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify({ intent: 'intencion_pago', confidence: 0.91 }), refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage: { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 },
        });
      }
      send(res, 404, { error: { message: `Unknown request URL: ${req.method} ${url.pathname}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
    })().catch((err: unknown) => send(res, 500, { error: { message: String(err), type: 'server_error', param: null, code: null } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.baseURL = `http://127.0.0.1:${port}/v1`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
