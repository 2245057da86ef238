import { commonFlags, type CommandSpec } from '../args.ts';
import { loadForInference } from '../io.ts';
import { serve } from '../../serve/server.ts';

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'serve a checkpoint over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions)',
  usage: 'llmts serve --checkpoint DIR [--port 8000] [--host 127.0.0.1] [--quantize int8|int4] [--device gpu|cpu]',
  flags: [
    commonFlags.checkpoint,
    { name: 'port', type: 'int', help: 'TCP port (0 picks a free one)', default: 8000, min: 0, max: 65535 },
    { name: 'host', type: 'string', help: 'address to listen on', default: '127.0.0.1' },
    { name: 'model-name', type: 'string', help: 'the model id clients see (default: the checkpoint directory\'s name)' },
    { name: 'max-tokens-limit', type: 'int', help: 'the largest max_tokens a request may ask for', default: 4096, min: 1 },
    commonFlags.device,
    commonFlags.quantize,
  ],
  async run(a) {
    const loaded = loadForInference(a);
    const server = await serve(loaded, {
      port: Number(a.port), host: String(a.host), limits: { maxTokens: Number(a['max-tokens-limit']) },
      ...(a['model-name'] !== undefined ? { modelName: String(a['model-name']) } : {}),
    });
    process.stderr.write(`llmts serve: ${loaded.dir} (${loaded.model.numParams().toLocaleString()} parameters) on ${server.url}/v1\n`);
    // SIGTERM and Ctrl-C: stop accepting, let the requests in flight finish, exit 0
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.stderr.write('llmts serve: finishing the requests in flight\n');
        void server.close().then(resolve);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    return 0;
  },
};
